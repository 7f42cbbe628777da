// ChatState: say, its seq per room, and actions.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

TEST_CASE("state: say echoes with the id, others get it without, same ts and seq", "[state][say]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.login(3, "carol");
  h.join(1, "dev");
  h.join(2, "dev");
  h.clear();

  h.send(1, R"({"type":"say","room":"dev","text":"hello dev","id":"s1"})");
  auto echo = h.take_one(1);
  auto bobs = h.take_one(2);
  CHECK(h.received_nothing(3));

  CHECK(type_of(echo) == "message");
  CHECK(str(echo, "room") == "dev");
  CHECK(str(echo, "from") == "alice");
  CHECK(str(echo, "text") == "hello dev");
  CHECK(num(echo, "seq") == 1);
  CHECK(num(echo, "ts") == h.now);
  CHECK(id_of(echo) == json::value("s1"));

  CHECK_FALSE(id_of(bobs));
  json::object echo_without_id = echo;
  echo_without_id.erase("id");
  CHECK(bobs == echo_without_id);  // same ts, seq and everything else
}

TEST_CASE("state: seq starts at 1 and rises by 1 per message, per room", "[state][say]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(1, "a");
  h.join(1, "b");
  h.join(2, "a");
  h.clear();

  h.say(1, "a", "a1");
  h.say(2, "a", "a2");
  h.say(1, "b", "b1");
  h.say(1, "a", "a3");
  h.say(1, "b", "b2");

  std::vector<std::pair<std::string, std::int64_t>> seen;
  for (const auto& m : h.take(1)) seen.emplace_back(str(m, "room"), num(m, "seq"));
  CHECK(seen == std::vector<std::pair<std::string, std::int64_t>>{{"a", 1}, {"a", 2}, {"b", 1}, {"a", 3}, {"b", 2}});
  CHECK(h.state.room_seq("a") == std::optional<std::uint64_t>(3));
  CHECK(h.state.room_seq("b") == std::optional<std::uint64_t>(2));
  CHECK(h.state.room_seq("lobby") == std::optional<std::uint64_t>(0));

  std::vector<std::int64_t> bob_seqs;
  for (const auto& m : h.take(2)) bob_seqs.push_back(num(m, "seq"));
  CHECK(bob_seqs == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("state: say errors", "[state][say]") {
  StateConfig config;
  config.max_text = 10;
  Harness h(config);
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(2, "dev");
  h.clear();

  SECTION("a room the requester is not in, existing or not") {
    h.send(1, R"({"type":"say","room":"dev","text":"hi","id":7})");
    check_error(h.take_one(1), "not_in_room", id7);
    h.send(1, R"({"type":"say","room":"nowhere","text":"hi","id":7})");
    check_error(h.take_one(1), "not_in_room", id7);
    CHECK(h.received_nothing(2));
    CHECK(h.state.room_seq("dev") == std::optional<std::uint64_t>(0));
  }
  SECTION("empty text is bad_request") {
    h.send(1, R"({"type":"say","room":"lobby","text":"","id":7})");
    check_error(h.take_one(1), "bad_request", id7);
  }
  SECTION("text of max_text bytes is fine, one more is text_too_long") {
    h.send(1, R"({"type":"say","room":"lobby","text":"0123456789"})");
    CHECK(type_of(h.take_one(1)) == "message");
    h.send(1, R"({"type":"say","room":"lobby","text":"0123456789A","id":7})");
    check_error(h.take_one(1), "text_too_long", id7);
    CHECK(h.state.room_seq("lobby") == std::optional<std::uint64_t>(1));
  }
  SECTION("max_text counts bytes") {
    h.send(1, R"({"type":"say","room":"lobby","text":"\u00e9\u00e9\u00e9\u00e9\u00e9x","id":7})");  // 11 bytes
    check_error(h.take_one(1), "text_too_long", id7);
  }
  SECTION("missing text is bad_request") {
    h.send(1, R"({"type":"say","room":"lobby","id":7})");
    check_error(h.take_one(1), "bad_request", id7);
  }
}

TEST_CASE("state: an action is copied into the message, its history and the private message", "[state][action]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.clear();
  h.send(1, R"({"type":"say","room":"lobby","text":"waves","action":true,"id":1})");
  const json::object echo = h.take_one(1);
  const json::object copy = h.take_one(2);
  CHECK(echo.at("action") == json::value(true));
  CHECK(copy.at("action") == json::value(true));
  h.send(1, R"({"type":"say","room":"lobby","text":"plain","action":false})");
  CHECK_FALSE(h.take_one(2).contains("action"));  // false is the contract's plain message
  h.clear();

  h.send(2, R"({"type":"history","room":"lobby"})");
  const json::object history = h.take_one(2);
  const auto& messages = history.at("messages").as_array();
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].as_object().at("action") == json::value(true));
  CHECK_FALSE(messages[1].as_object().contains("action"));

  h.send(1, R"({"type":"msg","to":"BOB","text":"nods","action":true})");
  CHECK(h.take_one(2).at("action") == json::value(true));
  CHECK(h.take_one(1).at("action") == json::value(true));

  h.send(1, R"({"type":"say","room":"lobby","text":"x","action":"yes","id":5})");
  check_error(h.take_one(1), "bad_request", json::value(5));
  CHECK(h.take(2).empty());
}
