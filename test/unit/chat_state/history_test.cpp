// ChatState: history replies, the history ring, and the bounds on reply size and rate.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

namespace {

// Fills `room` with messages "m1".."mN" from `client`, then forgets the output.
void fill(Harness& h, ClientId client, std::string_view room, int n) {
  for (int i = 1; i <= n; ++i) h.say(client, room, "m" + std::to_string(i));
  h.clear();
}

std::vector<std::int64_t> history_seqs(const json::object& reply) {
  std::vector<std::int64_t> seqs;
  for (const auto& m : reply.at("messages").as_array()) seqs.push_back(num(m.as_object(), "seq"));
  return seqs;
}

std::vector<std::int64_t> range(std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out;
  for (auto i = from; i <= to; ++i) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("state: history defaults to the latest 50, oldest first", "[state][history]") {
  Harness h;
  h.login(1, "alice");
  fill(h, 1, "lobby", 60);
  h.send(1, R"({"type":"history","room":"lobby","id":7})");
  auto reply = h.take_one(1);
  CHECK(type_of(reply) == "history");
  CHECK(str(reply, "room") == "lobby");
  CHECK(id_of(reply) == id7);
  CHECK(history_seqs(reply) == range(11, 60));
}

TEST_CASE("state: history limit is honoured and clamped to the configured history", "[state][history]") {
  StateConfig config;
  config.history = 10;
  Harness h(config);
  h.login(1, "alice");
  fill(h, 1, "lobby", 30);

  h.send(1, R"({"type":"history","room":"lobby","limit":3})");
  CHECK(history_seqs(h.take_one(1)) == range(28, 30));
  h.send(1, R"({"type":"history","room":"lobby","limit":1000})");
  CHECK(history_seqs(h.take_one(1)) == range(21, 30));
  h.send(1, R"({"type":"history","room":"lobby"})");  // default 50, clamped too
  CHECK(history_seqs(h.take_one(1)) == range(21, 30));
}

TEST_CASE("state: history limit 0 or less is bad_request", "[state][history]") {
  Harness h;
  h.login(1, "alice");
  h.send(1, R"({"type":"history","room":"lobby","limit":0,"id":7})");
  check_error(h.take_one(1), "bad_request", id7);
  h.send(1, R"({"type":"history","room":"lobby","limit":-3,"id":7})");
  check_error(h.take_one(1), "bad_request", id7);
}

TEST_CASE("state: history before returns seqs below it, oldest first", "[state][history]") {
  Harness h;
  h.login(1, "alice");
  fill(h, 1, "lobby", 10);

  h.send(1, R"({"type":"history","room":"lobby","before":5})");
  CHECK(history_seqs(h.take_one(1)) == range(1, 4));
  h.send(1, R"({"type":"history","room":"lobby","before":5,"limit":2})");
  CHECK(history_seqs(h.take_one(1)) == range(3, 4));
  h.send(1, R"({"type":"history","room":"lobby","before":1})");
  CHECK(history_seqs(h.take_one(1)).empty());
  h.send(1, R"({"type":"history","room":"lobby","before":0})");
  CHECK(history_seqs(h.take_one(1)).empty());
  h.send(1, R"({"type":"history","room":"lobby","before":1000})");
  CHECK(history_seqs(h.take_one(1)) == range(1, 10));
}

TEST_CASE("state: history before the ring's start returns nothing older than it holds", "[state][history]") {
  StateConfig config;
  config.history = 5;
  Harness h(config);
  h.login(1, "alice");
  fill(h, 1, "lobby", 20);
  h.send(1, R"({"type":"history","room":"lobby","before":18})");
  CHECK(history_seqs(h.take_one(1)) == range(16, 17));
  h.send(1, R"({"type":"history","room":"lobby","before":10})");
  CHECK(history_seqs(h.take_one(1)).empty());
}

TEST_CASE("state: history of an empty room is an empty list", "[state][history]") {
  Harness h;
  h.login(1, "alice");
  h.send(1, R"({"type":"history","room":"lobby"})");
  auto reply = h.take_one(1);
  CHECK(reply.at("messages").as_array().empty());
  CHECK_FALSE(id_of(reply));
}

TEST_CASE("state: history needs membership", "[state][history]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(2, "dev");
  fill(h, 2, "dev", 3);
  h.send(1, R"({"type":"history","room":"dev","id":7})");
  check_error(h.take_one(1), "not_in_room", id7);
  h.send(1, R"({"type":"history","room":"nowhere","id":7})");
  check_error(h.take_one(1), "not_in_room", id7);
  h.send(1, R"({"type":"history","room":"bad room","id":7})");
  check_error(h.take_one(1), "bad_room", id7);
}

TEST_CASE("state: history entries are exactly the message events members received", "[state][history]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.clear();
  h.send(1, R"({"type":"say","room":"lobby","text":"one","id":"a"})");
  h.send(2, R"({"type":"say","room":"lobby","text":"two \"quoted\"","id":"b"})");
  const auto alice_saw = h.take(1);  // the echo of "one" has the id "a"
  const auto bob_saw = h.take(2);
  REQUIRE(bob_saw.size() == 2);
  REQUIRE(alice_saw.size() == 2);

  h.send(1, R"({"type":"history","room":"lobby","id":"h"})");
  auto reply = h.take_one(1);
  const auto& messages = reply.at("messages").as_array();
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].as_object() == bob_saw[0]);    // as bob received it: no id
  CHECK(messages[1].as_object() == alice_saw[1]);  // as alice received it: no id
  for (const auto& m : messages) {
    CHECK(type_of(m.as_object()) == "message");
    CHECK_FALSE(m.as_object().contains("id"));
  }
  CHECK(id_of(reply) == json::value("h"));
}

TEST_CASE("state: the history ring holds at most config.history messages", "[state][history]") {
  StateConfig config;
  config.history = 3;
  Harness h(config);
  h.login(1, "alice");
  fill(h, 1, "lobby", 5);
  h.send(1, R"({"type":"history","room":"lobby","limit":100})");
  auto reply = h.take_one(1);
  CHECK(history_seqs(reply) == range(3, 5));
  CHECK(str(reply.at("messages").as_array()[0].as_object(), "text") == "m3");
}

TEST_CASE("state: a room re-created after everyone left continues its seq", "[state][history]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(1, "dev");
  h.join(2, "dev");
  fill(h, 1, "dev", 2);
  h.send(1, R"({"type":"part","room":"dev"})");
  h.send(2, R"({"type":"part","room":"dev"})");
  h.clear();

  h.send(1, R"({"type":"rooms"})");
  CHECK(h.take_one(1).at("rooms") == json::parse(R"([{"room":"lobby","members":2}])"));

  h.join(2, "dev");
  h.clear();
  h.send(2, R"({"type":"say","room":"dev","text":"back"})");
  CHECK(num(h.take_one(2), "seq") == 3);
  h.send(2, R"({"type":"history","room":"dev"})");
  CHECK(history_seqs(h.take_one(2)) == range(1, 3));
}

TEST_CASE("state: a history reply stays within max_reply_bytes, keeping the newest", "[state][history]") {
  StateConfig config;
  config.max_reply_bytes = 1000;
  Harness h(config);
  h.login(1, "alice");
  const std::string text(150, 'x');
  for (int i = 0; i < 20; ++i) h.say(1, "lobby", text);
  h.clear();
  h.send(1, R"({"type":"history","room":"lobby","limit":20})");
  const auto reply = h.take_one(1);
  const auto& messages = reply.at("messages").as_array();
  // Each stored line is a little over 200 bytes: four fit, the newest four.
  REQUIRE(messages.size() >= 1);
  CHECK(messages.size() < 20);
  std::size_t bytes = 0;
  for (const auto& m : messages) bytes += json::serialize(m).size() + 1;
  CHECK(bytes <= 1000);
  CHECK(messages.back().at("seq") == 20);
  CHECK(messages.front().at("seq") == static_cast<std::int64_t>(21 - messages.size()));
}

TEST_CASE("state: history, who and rooms replies draw on a per-connection byte budget", "[state][history]") {
  StateConfig config;
  config.reply_rate = 1000;   // bytes a second
  config.reply_burst = 3000;  // at once
  Harness h(config);
  h.login(1, "alice");
  h.login(2, "bob");
  for (int i = 0; i < 10; ++i) h.say(1, "lobby", std::string(150, 'x'));  // about 2 KB of history
  h.clear();
  h.send(1, R"({"type":"history","room":"lobby","limit":10,"id":1})");  // ~2 KB of 3000
  CHECK(type_of(h.take_one(1)) == "history");
  h.send(1, R"({"type":"history","room":"lobby","limit":10,"id":2})");  // ~1 KB left: allowed, now in debt
  CHECK(type_of(h.take_one(1)) == "history");
  for (const char* request : {R"({"type":"history","room":"lobby","id":3})", R"({"type":"who","id":3})",
                              R"({"type":"rooms","id":3})"}) {
    h.send(1, request);
    check_error(h.take_one(1), "rate_limited", json::value(3));
  }
  // Cheap requests are not affected, nor is anyone else's budget.
  h.send(1, R"({"type":"ping"})");
  CHECK(type_of(h.take_one(1)) == "pong");
  h.send(2, R"({"type":"history","room":"lobby","limit":10})");
  CHECK(type_of(h.take_one(2)) == "history");
  // The rate pays the debt back (about 1 KB, so two seconds is plenty).
  h.now += 2000;
  h.send(1, R"({"type":"rooms"})");
  CHECK(type_of(h.take_one(1)) == "rooms");
}

TEST_CASE("state: a reply rate of 0 leaves large replies unlimited", "[state][history]") {
  StateConfig config;
  config.reply_rate = 0;
  config.reply_burst = 1;
  Harness h(config);
  h.login(1, "alice");
  h.say(1, "lobby", std::string(1000, 'x'));
  h.clear();
  for (int i = 0; i < 50; ++i) {
    h.send(1, R"({"type":"history","room":"lobby"})");
    CHECK(type_of(h.take_one(1)) == "history");
  }
}
