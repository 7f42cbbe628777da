// ChatState: hello and welcome, the password, the nick checks at registration.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

TEST_CASE("state: hello gets welcome with every field, then joined, both with the id", "[state][hello]") {
  StateConfig config;
  config.server_name = "chatd/9.9";
  config.epoch = "ep-42";
  config.limits.max_line = 512;
  config.limits.rate = 0;
  config.limits.burst = 0;
  Harness h(config);
  h.connect(1);
  CHECK(h.received_nothing(1));

  h.send(1, R"({"type":"hello","nick":"alice","id":"h1"})");
  auto lines = h.take(1);
  REQUIRE(types(lines) == Strings{"welcome", "joined"});

  const auto& welcome = lines[0];
  CHECK(str(welcome, "nick") == "alice");
  CHECK(str(welcome, "server") == "chatd/9.9");
  CHECK(num(welcome, "protocol") == 1);
  CHECK(str(welcome, "epoch") == "ep-42");
  CHECK(str(welcome, "token") == "token-1");
  CHECK(strings(welcome.at("rooms")) == Strings{"lobby"});
  CHECK(welcome.at("limits") == json::parse(R"({"max_line":512,"max_text":4096,"rate":0,"burst":0,)"
                                            R"("history":100,"idle":120,"max_rooms_per_client":50})"));
  CHECK_FALSE(welcome.contains("motd"));
  CHECK(id_of(welcome) == json::value("h1"));

  const auto& joined = lines[1];
  CHECK(str(joined, "room") == "lobby");
  CHECK(str(joined, "nick") == "alice");
  CHECK(num(joined, "ts") == h.now);
  CHECK(id_of(joined) == json::value("h1"));

  CHECK(h.state.is_registered(1));
  CHECK(h.state.nick_of(1) == std::optional<std::string>("alice"));
  CHECK(h.state.rooms_of(1) == Strings{"lobby"});
}

TEST_CASE("state: each welcome gets a fresh token", "[state][hello]") {
  Harness h;
  CHECK(h.hello_token(1, "alice") == "token-1");
  CHECK(h.hello_token(2, "bob") == "token-2");
}

TEST_CASE("state: welcome carries the motd when one is configured", "[state][hello]") {
  StateConfig config;
  config.motd = "be kind";
  Harness h(config);
  h.connect(1);
  h.send(1, R"({"type":"hello","nick":"alice"})");
  auto lines = h.take(1);
  REQUIRE_FALSE(lines.empty());
  CHECK(str(lines[0], "motd") == "be kind");
  CHECK_FALSE(id_of(lines[0]));  // no id in the request: none in the reply
}

TEST_CASE("state: with no default room, welcome lists no rooms and nothing is joined", "[state][hello]") {
  Harness h(no_default_room());
  h.connect(1);
  h.send(1, R"({"type":"hello","nick":"alice","id":1})");
  auto lines = h.take(1);
  REQUIRE(types(lines) == Strings{"welcome"});
  CHECK(lines[0].at("rooms").as_array().empty());
  CHECK(h.state.rooms_of(1).empty());
}

TEST_CASE("state: room-mates see the newcomer's joined without the id", "[state][hello]") {
  Harness h;
  h.login(1, "alice");
  h.connect(2);
  h.send(2, R"({"type":"hello","nick":"bob","id":99})");

  auto to_alice = h.take_one(1);
  CHECK(type_of(to_alice) == "joined");
  CHECK(str(to_alice, "nick") == "bob");
  CHECK(str(to_alice, "room") == "lobby");
  CHECK_FALSE(id_of(to_alice));

  auto to_bob = h.take(2);
  REQUIRE(types(to_bob) == Strings{"welcome", "joined"});
  CHECK(id_of(to_bob[1]) == json::value(99));
  CHECK(num(to_bob[1], "ts") == num(to_alice, "ts"));
}

TEST_CASE("state: before hello only ping, pong and quit are allowed", "[state][hello]") {
  Harness h;
  h.connect(1);

  SECTION("other requests get not_registered with the id") {
    for (const char* line : {R"({"type":"join","room":"dev","id":7})", R"({"type":"say","room":"lobby","text":"x","id":7})",
                             R"({"type":"who","id":7})", R"({"type":"rooms","id":7})", R"({"type":"nick","nick":"z","id":7})",
                             R"({"type":"msg","to":"a","text":"b","id":7})", R"({"type":"history","room":"lobby","id":7})",
                             R"({"type":"part","room":"lobby","id":7})"}) {
      INFO(line);
      h.send(1, line);
      check_error(h.take_one(1), "not_registered", id7);
    }
    CHECK_FALSE(h.state.is_registered(1));
    CHECK_FALSE(h.closed(1));
  }
  SECTION("a malformed known request is not_registered first") {
    h.send(1, R"({"type":"join","id":7})");
    check_error(h.take_one(1), "not_registered", id7);
  }
  SECTION("ping gets pong with the id") {
    h.send(1, R"({"type":"ping","id":7})");
    auto pong = h.take_one(1);
    CHECK(type_of(pong) == "pong");
    CHECK(id_of(pong) == id7);
  }
  SECTION("pong gets no reply") {
    h.send(1, R"({"type":"pong"})");
    CHECK(h.received_nothing(1));
  }
  SECTION("quit gets bye quit and is closed") {
    h.send(1, R"({"type":"quit","id":7})");
    check_bye(h.take_one(1), "quit", id7);
    REQUIRE(h.closes.size() == 1);
    CHECK(h.closes[0] == std::pair<ClientId, ByeReason>{1, ByeReason::quit});
    CHECK(h.state.connection_count() == 0);
  }
}

TEST_CASE("state: a second hello is already_registered", "[state][hello]") {
  Harness h;
  h.login(1, "alice");
  h.send(1, R"({"type":"hello","nick":"other","id":7})");
  check_error(h.take_one(1), "already_registered", id7);
  CHECK(h.state.nick_of(1) == std::optional<std::string>("alice"));
}

TEST_CASE("state: hello with protocol 2 is bad_request and the connection is kept", "[state][hello]") {
  Harness h;
  h.connect(1);
  h.send(1, R"({"type":"hello","nick":"alice","protocol":2,"id":7})");
  check_error(h.take_one(1), "bad_request", id7);
  CHECK_FALSE(h.closed(1));
  CHECK_FALSE(h.state.is_registered(1));

  h.send(1, R"({"type":"hello","nick":"alice","protocol":1})");
  CHECK(h.state.is_registered(1));
}

TEST_CASE("state: hello checks the protocol before the password", "[state][hello]") {
  StateConfig config;
  config.password = "secret";
  Harness h(config);
  h.connect(1);
  h.send(1, R"({"type":"hello","nick":"alice","protocol":2,"password":"wrong","id":7})");
  check_error(h.take_one(1), "bad_request", id7);
  CHECK(h.closes.empty());
}

TEST_CASE("state: a wrong or missing password is auth_failed, bye auth_failed, close", "[state][hello]") {
  StateConfig config;
  config.password = "secret";
  Harness h(config);
  h.connect(1);

  std::string line;
  SECTION("wrong password") { line = R"({"type":"hello","nick":"alice","password":"nope","id":7})"; }
  SECTION("missing password") { line = R"({"type":"hello","nick":"alice","id":7})"; }
  SECTION("non-string password") { line = R"({"type":"hello","nick":"alice","password":1,"id":7})"; }
  SECTION("wrong password and missing nick: the password is checked first") {
    line = R"({"type":"hello","password":"nope","id":7})";
  }
  SECTION("missing password and a bad nick") { line = R"({"type":"hello","nick":"-x","id":7})"; }

  h.send(1, line);
  auto lines = h.take(1);
  REQUIRE(lines.size() == 2);
  check_error(lines[0], "auth_failed", id7);
  check_bye(lines[1], "auth_failed", id7);
  REQUIRE(h.closes.size() == 1);
  CHECK(h.closes[0] == std::pair<ClientId, ByeReason>{1, ByeReason::auth_failed});
  CHECK(h.state.connection_count() == 0);
  CHECK(h.state.handle(1, std::get<Request>(parse_request(R"({"type":"ping"})")), h.now).deliveries.empty());
}

TEST_CASE("state: the right password registers", "[state][hello]") {
  StateConfig config;
  config.password = "secret";
  Harness h(config);
  h.connect(1);
  h.send(1, R"({"type":"hello","nick":"alice","password":"secret"})");
  CHECK(h.state.is_registered(1));
  CHECK(h.closes.empty());
}

TEST_CASE("state: hello nick checks, connection kept", "[state][hello]") {
  Harness h;
  h.login(1, "Alice");
  h.connect(2);

  SECTION("missing nick is bad_request") {
    h.send(2, R"({"type":"hello","id":7})");
    check_error(h.take_one(2), "bad_request", id7);
  }
  SECTION("non-string nick is bad_request") {
    h.send(2, R"({"type":"hello","nick":5,"id":7})");
    check_error(h.take_one(2), "bad_request", id7);
  }
  SECTION("invalid nicks are bad_nick") {
    for (const std::string& nick : Strings{"", "-dash", ".dot", "has space", "bad!", std::string(33, 'n')}) {
      INFO(nick);
      h.send(2, R"({"type":"hello","nick":")" + nick + R"(","id":7})");
      check_error(h.take_one(2), "bad_nick", id7);
    }
  }
  SECTION("a nick in use, in any case, is nick_taken") {
    for (const char* nick : {"Alice", "alice", "ALICE"}) {
      INFO(nick);
      h.send(2, R"({"type":"hello","nick":")" + std::string(nick) + R"(","id":7})");
      check_error(h.take_one(2), "nick_taken", id7);
    }
    CHECK(h.received_nothing(1));
  }
  CHECK_FALSE(h.state.is_registered(2));
  CHECK(h.closes.empty());

  // Still usable afterwards; a 32-byte nick with every allowed character is fine.
  const std::string longest = "b_-.9Z" + std::string(26, 'x');
  h.send(2, R"({"type":"hello","nick":")" + longest + R"("})");
  CHECK(h.state.nick_of(2) == longest);
}

TEST_CASE("state: with max_rooms_per_client 0, hello joins no default room", "[state][hello][limits]") {
  // Found by chat_state_fuzz: the default room was joined past the limit.
  StateConfig config;
  config.max_rooms_per_client = 0;
  Harness h(config);
  h.connect(1);
  h.send(1, R"({"type":"hello","nick":"alice","id":1})");
  auto lines = h.take(1);
  REQUIRE(types(lines) == Strings{"welcome"});
  CHECK(lines[0].at("rooms").as_array().empty());
  CHECK(h.state.rooms_of(1).empty());
  CHECK_FALSE(h.state.room_seq("lobby"));  // not even created
  h.send(1, R"({"type":"join","room":"lobby"})");
  check_error(h.take_one(1), "too_many_rooms");
  CHECK(h.state.check_invariants() == std::nullopt);
}

TEST_CASE("state: a reload's motd and password apply to the next hello and not to those registered", "[state][hello]") {
  Harness h;
  h.login(1, "alice");
  StateConfig next;
  next.motd = "new rules";
  next.password = "secret";
  next.limits.rate = 3;
  h.state.take_live_settings(next);

  h.connect(2);
  h.send(2, R"({"type":"hello","nick":"bob","password":"secret"})");
  auto lines = h.take(2);
  REQUIRE_FALSE(lines.empty());
  CHECK(type_of(lines[0]) == "welcome");
  CHECK(str(lines[0], "motd") == "new rules");
  CHECK(lines[0].at("limits").at("rate") == 3);

  h.connect(3);
  h.send(3, R"({"type":"hello","nick":"carol"})");
  auto refused = h.take(3);
  REQUIRE_FALSE(refused.empty());
  CHECK(type_of(refused[0]) == "error");
  // alice registered before the reload and stays.
  h.send(1, R"({"type":"ping","id":1})");
  auto pong = h.take(1);
  REQUIRE_FALSE(pong.empty());
  CHECK(type_of(pong.back()) == "pong");
}
