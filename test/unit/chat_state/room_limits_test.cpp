// ChatState: max_rooms and max_rooms_per_client, and the seqs of forgotten rooms.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

TEST_CASE("state: past max_rooms the empty room with the oldest activity is forgotten", "[state][limits]") {
  StateConfig config;
  config.max_rooms = 2;  // two besides the lobby
  Harness h(config);
  h.login(1, "alice");
  // x is created first (and sorts first), but y's latest activity is older.
  h.join(1, "x");
  h.say(1, "x", "in x");
  h.join(1, "y");
  h.say(1, "y", "in y");
  h.send(1, R"({"type":"part","room":"y"})");
  h.send(1, R"({"type":"part","room":"x"})");
  REQUIRE(h.state.room_count() == 3);
  h.clear();

  h.send(1, R"({"type":"join","room":"z","id":7})");
  auto joined = h.take_one(1);
  CHECK(type_of(joined) == "joined");
  CHECK(h.state.room_count() == 3);
  CHECK_FALSE(h.state.room_seq("y"));  // forgotten
  CHECK(h.state.room_seq("x") == std::optional<std::uint64_t>(1));

  // y comes back without its history but continues its seq (x is evicted for it now).
  h.join(1, "y");
  h.clear();
  h.send(1, R"({"type":"history","room":"y"})");
  CHECK(h.take_one(1).at("messages").as_array().empty());
  h.say(1, "y", "again");
  CHECK(num(h.take_one(1), "seq") == 2);
  CHECK_FALSE(h.state.room_seq("x"));
}

TEST_CASE("state: a new room when every kept room has members is too_many_rooms", "[state][limits]") {
  StateConfig config;
  config.max_rooms = 2;  // a and b; the lobby is kept beside them
  Harness h(config);
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(1, "a");
  h.join(1, "b");
  h.clear();

  h.send(2, R"({"type":"join","room":"c","id":7})");
  check_error(h.take_one(2), "too_many_rooms", id7);
  CHECK(h.state.room_count() == 3);
  CHECK_FALSE(h.state.room_seq("c"));

  h.join(2, "a");  // an existing room is still fine
}

TEST_CASE("state: max_rooms_per_client counts the default room", "[state][limits]") {
  StateConfig config;
  config.max_rooms_per_client = 2;
  Harness h(config);
  h.login(1, "alice");
  h.join(1, "a");  // lobby + a = 2
  h.clear();
  h.send(1, R"({"type":"join","room":"b","id":7})");
  check_error(h.take_one(1), "too_many_rooms", id7);
  CHECK(h.state.rooms_of(1) == Strings{"lobby", "a"});

  h.send(1, R"({"type":"part","room":"lobby"})");
  h.join(1, "b");  // room again after leaving one
}

TEST_CASE("state: a full room table still lets a newcomer into the default room", "[state][limits]") {
  // Everyone left the lobby for other rooms, and those fill max_rooms.
  StateConfig config;
  config.max_rooms = 2;
  Harness h(config);
  h.login(1, "alice");
  h.send(1, R"({"type":"part","room":"lobby"})");
  h.join(1, "a");
  h.join(1, "b");
  h.login(2, "bob");
  h.clear();
  h.send(2, R"({"type":"join","room":"c","id":7})");
  check_error(h.take_one(2), "too_many_rooms", id7);  // the table is full...

  h.connect(3);
  h.send(3, R"({"type":"hello","nick":"carol","id":1})");
  auto lines = h.take(3);
  REQUIRE(types(lines) == Strings{"welcome", "joined"});
  CHECK(strings(lines[0].at("rooms")) == Strings{"lobby"});  // ...but not for the lobby
  CHECK(h.state.rooms_of(3) == Strings{"lobby"});
  CHECK(h.state.rooms_of(2) == Strings{"lobby"});

  // An explicit join of the default room, with the table full, works too.
  h.send(2, R"({"type":"part","room":"lobby"})");
  h.send(3, R"({"type":"part","room":"lobby"})");  // the lobby is gone: empty, no history
  CHECK_FALSE(h.state.room_seq("lobby"));
  h.clear();
  h.send(3, R"({"type":"join","room":"lobby","id":7})");
  CHECK(type_of(h.take_one(3)) == "joined");
  CHECK(h.state.room_count() == 3);
  CHECK(h.state.check_invariants() == std::nullopt);
}

TEST_CASE("state: the default room is never forgotten to make room", "[state][limits]") {
  StateConfig config;
  config.max_rooms = 1;
  Harness h(config);
  h.login(1, "alice");
  h.say(1, "lobby", "kept");
  h.send(1, R"({"type":"part","room":"lobby"})");  // empty, the oldest activity
  h.join(1, "a");
  h.say(1, "a", "in a");
  h.send(1, R"({"type":"part","room":"a"})");
  h.join(1, "b");  // a is forgotten for it, not the lobby
  CHECK_FALSE(h.state.room_seq("a"));
  CHECK(h.state.room_seq("lobby") == 1u);
  h.join(1, "lobby");
  h.clear();
  h.send(1, R"({"type":"history","room":"lobby"})");
  CHECK(h.take_one(1).at("messages").as_array().size() == 1);
  CHECK(h.state.check_invariants() == std::nullopt);
}

TEST_CASE("state: a room forgotten under max_rooms continues its seq when re-created", "[state][rooms]") {
  StateConfig config = no_default_room();
  config.max_rooms = 2;
  Harness h(config);
  h.login(1, "alice");
  h.join(1, "r1");
  h.say(1, "r1", "one");
  h.say(1, "r1", "two");
  h.send(1, R"({"type":"part","room":"r1"})");
  h.join(1, "r2");
  h.say(1, "r2", "x");
  h.send(1, R"({"type":"part","room":"r2"})");
  h.join(1, "r3");  // r1, the empty room with the oldest activity, is forgotten
  CHECK_FALSE(h.state.room_seq("r1"));
  h.send(1, R"({"type":"part","room":"r3"})");
  h.join(1, "r1");
  CHECK(h.state.room_seq("r1") == 2u);
  h.clear();
  h.say(1, "r1", "three");
  CHECK(num(h.take_one(1), "seq") == 3);
  CHECK(h.state.epoch() == config.epoch);
}

TEST_CASE("state: when forgotten seqs cannot all be kept, the epoch changes", "[state][rooms]") {
  StateConfig config = no_default_room();
  config.max_rooms = 1;
  config.remembered_rooms = 1;
  config.epoch = "e";
  Harness h(config);
  h.login(1, "alice");
  for (const char* room : {"a", "b", "c"}) {
    h.join(1, room);
    h.say(1, room, "hi");
    h.send(1, std::string(R"({"type":"part","room":")") + room + R"("})");
  }
  // a was remembered, then b pushed it out: a's numbering may restart.
  CHECK(h.state.epoch() != "e");
  h.connect(2);
  h.send(2, R"({"type":"hello","nick":"bob"})");
  CHECK(str(h.take(2).front(), "epoch") == h.state.epoch());
}
