// ChatState: join, part, who and the rooms listing.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

// ================================================================ join / part

TEST_CASE("state: join sends joined to all members, the requester included", "[state][rooms]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");

  h.send(1, R"({"type":"join","room":"dev","id":7})");
  auto mine = h.take_one(1);
  CHECK(type_of(mine) == "joined");
  CHECK(str(mine, "room") == "dev");
  CHECK(str(mine, "nick") == "alice");
  CHECK(id_of(mine) == id7);
  CHECK(h.received_nothing(2));  // bob is not in dev

  h.send(2, R"({"type":"join","room":"dev","id":"b"})");
  auto to_alice = h.take_one(1);
  auto to_bob = h.take_one(2);
  CHECK(str(to_alice, "nick") == "bob");
  CHECK_FALSE(id_of(to_alice));
  CHECK(id_of(to_bob) == json::value("b"));
  CHECK(num(to_alice, "ts") == num(to_bob, "ts"));
  CHECK(h.state.rooms_of(2) == Strings{"lobby", "dev"});
}

TEST_CASE("state: join errors", "[state][rooms]") {
  Harness h;
  h.login(1, "alice");

  h.send(1, R"({"type":"join","room":"lobby","id":7})");
  check_error(h.take_one(1), "already_joined", id7);

  for (const std::string& room : Strings{"", "-x", ".x", "a b", "caf\xc3\xa9", std::string(65, 'r')}) {
    INFO(room);
    h.send(1, R"({"type":"join","room":")" + room + R"(","id":7})");
    check_error(h.take_one(1), "bad_room", id7);
  }
  h.send(1, R"({"type":"join","room":42,"id":7})");
  check_error(h.take_one(1), "bad_request", id7);

  CHECK(h.state.rooms_of(1) == Strings{"lobby"});
  h.join(1, std::string(64, 'r'));  // the longest name is fine
}

TEST_CASE("state: rooms are case-sensitive", "[state][rooms]") {
  Harness h;
  h.login(1, "alice");
  h.join(1, "dev");
  h.join(1, "Dev");
  CHECK(h.state.rooms_of(1) == Strings{"lobby", "dev", "Dev"});
}

TEST_CASE("state: part sends left reason part to the members and the requester", "[state][rooms]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.login(3, "carol");
  h.join(1, "dev");
  h.join(2, "dev");
  h.clear();

  h.send(1, R"({"type":"part","room":"dev","id":7})");
  auto mine = h.take_one(1);
  check_left(mine, "dev", "alice", "part");
  CHECK(id_of(mine) == id7);
  auto bobs = h.take_one(2);
  check_left(bobs, "dev", "alice", "part");
  CHECK_FALSE(id_of(bobs));
  CHECK(h.received_nothing(3));
  CHECK(h.state.rooms_of(1) == Strings{"lobby"});

  h.send(1, R"({"type":"part","room":"dev","id":7})");
  check_error(h.take_one(1), "not_in_room", id7);
  h.send(1, R"({"type":"part","room":"nowhere","id":7})");
  check_error(h.take_one(1), "not_in_room", id7);
  h.send(1, R"({"type":"part","room":"no where","id":7})");
  check_error(h.take_one(1), "bad_room", id7);
}

TEST_CASE("state: the last member parting sees its own left", "[state][rooms]") {
  Harness h;
  h.login(1, "alice");
  h.join(1, "solo");
  h.clear();
  h.send(1, R"({"type":"part","room":"solo"})");
  check_left(h.take_one(1), "solo", "alice", "part");
}

// ================================================================ who / rooms

TEST_CASE("state: who lists a room's members sorted by bytes", "[state][who]") {
  Harness h;
  h.login(1, "zed");
  h.login(2, "bob");
  h.login(3, "Alice");
  h.login(4, "carol");
  h.join(1, "dev");
  h.join(2, "dev");
  h.join(3, "dev");
  h.clear();

  h.send(4, R"({"type":"who","room":"dev","id":7})");
  auto who = h.take_one(4);
  CHECK(type_of(who) == "who");
  CHECK(str(who, "room") == "dev");
  CHECK(strings(who.at("members")) == Strings{"Alice", "bob", "zed"});
  CHECK(id_of(who) == id7);
}

TEST_CASE("state: who for an unknown room has no members", "[state][who]") {
  Harness h;
  h.login(1, "alice");
  h.send(1, R"({"type":"who","room":"nowhere"})");
  auto who = h.take_one(1);
  CHECK(str(who, "room") == "nowhere");
  CHECK(who.at("members").as_array().empty());
}

TEST_CASE("state: who without a room lists every registered nick, sorted", "[state][who]") {
  Harness h(no_default_room());
  h.login(1, "mia");
  h.login(2, "Zoe");
  h.login(3, "adam");
  h.connect(4);  // not registered: not listed
  h.send(3, R"({"type":"who"})");
  auto who = h.take_one(3);
  CHECK_FALSE(who.contains("room"));
  CHECK(strings(who.at("members")) == Strings{"Zoe", "adam", "mia"});
}

TEST_CASE("state: rooms lists rooms with members, sorted, with counts", "[state][rooms]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(1, "zeta");
  h.join(2, "zeta");
  h.join(1, "alpha");
  h.join(1, "gone");
  h.say(1, "gone", "keep some history");
  h.send(1, R"({"type":"part","room":"gone"})");  // kept for its history, but empty
  h.clear();

  h.send(2, R"({"type":"rooms","id":7})");
  auto rooms = h.take_one(2);
  CHECK(type_of(rooms) == "rooms");
  CHECK(id_of(rooms) == id7);
  CHECK(rooms.at("rooms") ==
        json::parse(R"([{"room":"alpha","members":1},{"room":"lobby","members":2},{"room":"zeta","members":2}])"));
}
