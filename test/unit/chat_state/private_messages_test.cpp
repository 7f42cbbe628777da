// ChatState: msg, private messages between nicks.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

TEST_CASE("state: msg goes to the target and echoes to the requester", "[state][msg]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "Bob");
  h.login(3, "carol");

  h.send(1, R"({"type":"msg","to":"bOB","text":"psst","id":7})");
  auto to_bob = h.take_one(2);
  CHECK(type_of(to_bob) == "private");
  CHECK(str(to_bob, "from") == "alice");
  CHECK(str(to_bob, "to") == "Bob");  // as registered, not as typed
  CHECK(str(to_bob, "text") == "psst");
  CHECK_FALSE(id_of(to_bob));

  auto echo = h.take_one(1);
  CHECK(type_of(echo) == "private");
  CHECK(str(echo, "to") == "Bob");
  CHECK(id_of(echo) == id7);
  CHECK(num(echo, "ts") == num(to_bob, "ts"));

  CHECK(h.received_nothing(3));
}

TEST_CASE("state: msg to an unknown nick is no_such_nick", "[state][msg]") {
  Harness h;
  h.login(1, "alice");
  h.connect(2);  // connected but unregistered: not a nick
  h.send(1, R"({"type":"msg","to":"ghost","text":"hi","id":7})");
  check_error(h.take_one(1), "no_such_nick", id7);
  CHECK(h.received_nothing(2));
}

TEST_CASE("state: msg to oneself arrives once", "[state][msg]") {
  Harness h;
  h.login(1, "alice");
  h.send(1, R"({"type":"msg","to":"ALICE","text":"note","id":7})");
  auto only = h.take_one(1);
  CHECK(type_of(only) == "private");
  CHECK(id_of(only) == id7);
}

TEST_CASE("state: msg text is checked like say", "[state][msg]") {
  StateConfig config;
  config.max_text = 3;
  Harness h(config);
  h.login(1, "alice");
  h.login(2, "bob");
  h.send(1, R"({"type":"msg","to":"bob","text":""})");
  check_error(h.take_one(1), "bad_request");
  h.send(1, R"({"type":"msg","to":"bob","text":"long"})");
  check_error(h.take_one(1), "text_too_long");
  CHECK(h.received_nothing(2));
}
