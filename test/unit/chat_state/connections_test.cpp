// ChatState: a connection's life outside requests: max_clients, disconnect,
// quit, keep-alive and timeouts, shutdown, and the lines the request parser refused.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

// ================================================================ max_clients

TEST_CASE("state: past max_clients a connection gets server_full, bye server_full, close", "[state][limits]") {
  StateConfig config;
  config.max_clients = 2;
  Harness h(config);
  h.connect(1);
  h.connect(2);
  CHECK(h.closes.empty());

  h.connect(3);
  auto lines = h.take(3);
  REQUIRE(lines.size() == 2);
  check_error(lines[0], "server_full");
  check_bye(lines[1], "server_full");
  REQUIRE(h.closes.size() == 1);
  CHECK(h.closes[0] == std::pair<ClientId, ByeReason>{3, ByeReason::server_full});
  CHECK(h.state.connection_count() == 2);
  CHECK(h.received_nothing(1));

  h.apply(h.state.disconnect(1, LeaveReason::disconnect, h.now));
  h.clear();
  h.connect(4);
  CHECK(h.closes.empty());
  CHECK(h.state.connection_count() == 2);
}

TEST_CASE("state: connections still closing count toward max_clients", "[state][limits]") {
  StateConfig config;
  config.max_clients = 2;
  Harness h(config);
  h.connect(1);
  h.apply(h.state.connect(2, 1));  // one more socket is open, flushing its way out
  auto lines = h.take(2);
  REQUIRE(lines.size() == 2);
  check_error(lines[0], "server_full");
  check_bye(lines[1], "server_full");
  CHECK(h.state.connection_count() == 1);
}

// ================================================================ leaving

TEST_CASE("state: disconnect sends left reason disconnect to room-mates only", "[state][leave]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.login(3, "carol");
  h.login(4, "dave");
  h.join(1, "dev");
  h.join(2, "dev");
  h.send(4, R"({"type":"part","room":"lobby"})");
  h.clear();

  h.apply(h.state.disconnect(1, LeaveReason::disconnect, 4242));

  CHECK(h.received_nothing(1));
  CHECK(h.closes.empty());  // already gone: nothing to close
  auto to_bob = h.take(2);
  REQUIRE(to_bob.size() == 2);
  std::set<std::string> rooms;
  for (const auto& l : to_bob) {
    check_left(l, str(l, "room"), "alice", "disconnect");
    CHECK(num(l, "ts") == 4242);
    rooms.insert(str(l, "room"));
  }
  CHECK(rooms == std::set<std::string>{"lobby", "dev"});
  check_left(h.take_one(3), "lobby", "alice", "disconnect");
  CHECK(h.received_nothing(4));

  CHECK(h.state.connection_count() == 3);
  CHECK_FALSE(h.state.nick_of(1));
  h.login(5, "alice");  // the nick is free again
}

TEST_CASE("state: quit sends bye quit, left quit to room-mates, and closes", "[state][leave]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.send(1, R"({"type":"quit","reason":"later","id":7})");
  check_bye(h.take_one(1), "quit", id7);
  check_left(h.take_one(2), "lobby", "alice", "quit");
  REQUIRE(h.closes.size() == 1);
  CHECK(h.closes[0] == std::pair<ClientId, ByeReason>{1, ByeReason::quit});

  // Lines after the quit are not executed.
  CHECK(h.send(1, R"({"type":"say","room":"lobby","text":"ghost"})").deliveries.empty());
  CHECK(h.received_nothing(2));
}

TEST_CASE("state: timed_out sends bye timeout, left timeout, and closes", "[state][leave]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.apply(h.state.timed_out(1, 77));
  check_bye(h.take_one(1), "timeout");
  auto left = h.take_one(2);
  check_left(left, "lobby", "alice", "timeout");
  CHECK(num(left, "ts") == 77);
  REQUIRE(h.closes.size() == 1);
  CHECK(h.closes[0] == std::pair<ClientId, ByeReason>{1, ByeReason::timeout});
  CHECK(h.state.connection_count() == 1);
}

TEST_CASE("state: an unregistered connection times out too", "[state][leave]") {
  Harness h;
  h.connect(1);
  h.apply(h.state.timed_out(1, 77));
  check_bye(h.take_one(1), "timeout");
  CHECK(h.closes == std::vector<std::pair<ClientId, ByeReason>>{{1, ByeReason::timeout}});
  CHECK(h.state.connection_count() == 0);
}

TEST_CASE("state: idle sends a ping to the connection only", "[state][leave]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.apply(h.state.idle(1));
  CHECK(type_of(h.take_one(1)) == "ping");
  CHECK(h.received_nothing(2));
  CHECK(h.closes.empty());
}

TEST_CASE("state: registration_expired closes only unregistered connections", "[state][leave]") {
  Harness h;
  h.login(1, "alice");
  h.connect(2);

  h.apply(h.state.registration_expired(1));
  CHECK(h.received_nothing(1));
  CHECK(h.closes.empty());
  CHECK(h.state.is_registered(1));

  h.apply(h.state.registration_expired(2));
  check_bye(h.take_one(2), "registration_timeout");
  CHECK(h.closes == std::vector<std::pair<ClientId, ByeReason>>{{2, ByeReason::registration_timeout}});
  CHECK(h.state.connection_count() == 1);
  CHECK(h.received_nothing(1));
}

TEST_CASE("state: shutdown says bye shutdown to everyone and closes all, without left", "[state][leave]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(1, "dev");
  h.join(2, "dev");
  h.connect(3);  // not registered
  h.clear();

  h.apply(h.state.shutdown());
  for (ClientId c : {1, 2, 3}) {
    INFO("client " << c);
    check_bye(h.take_one(c), "shutdown");
  }
  std::vector<std::pair<ClientId, ByeReason>> closes = h.closes;
  std::sort(closes.begin(), closes.end());
  CHECK(closes == std::vector<std::pair<ClientId, ByeReason>>{
                      {1, ByeReason::shutdown}, {2, ByeReason::shutdown}, {3, ByeReason::shutdown}});
  CHECK(h.state.connection_count() == 0);
}

// ================================================================ reject / unknown clients

TEST_CASE("state: reject yields the error with the given id", "[state][reject]") {
  Harness h;
  h.login(1, "alice");
  h.apply(h.state.reject(1, RequestError{ErrorCode::line_too_long, "line too long", json::value(4)}));
  check_error(h.take_one(1), "line_too_long", json::value(4));
  h.apply(h.state.reject(1, RequestError{ErrorCode::rate_limited, "slow down", std::nullopt}));
  check_error(h.take_one(1), "rate_limited");
}

TEST_CASE("state: parse errors go back through reject, in their place", "[state][reject]") {
  Harness h;
  h.connect(1);
  h.send(1, "not json");
  check_error(h.take_one(1), "bad_json");
  h.send(1, R"({"type":"dance","id":"d"})");
  check_error(h.take_one(1), "unknown_type", json::value("d"));
  h.send(1, R"({"type":"ping","id":1.5})");
  check_error(h.take_one(1), "bad_request");
}

TEST_CASE("state: an unknown or closed client gets nothing", "[state][reject]") {
  Harness h;
  h.login(1, "alice");
  h.send(1, R"({"type":"quit"})");
  h.clear();

  const auto ping = std::get<Request>(parse_request(R"({"type":"ping","id":1})"));
  for (ClientId c : {ClientId{1}, ClientId{99}}) {
    INFO("client " << c);
    Effects fx = h.state.handle(c, ping, h.now);
    CHECK(fx.deliveries.empty());
    CHECK(fx.closes.empty());
    CHECK(h.state.reject(c, RequestError{ErrorCode::bad_json, "x", std::nullopt}).deliveries.empty());
    CHECK(h.state.idle(c).deliveries.empty());
    fx = h.state.timed_out(c, h.now);
    CHECK(fx.deliveries.empty());
    CHECK(fx.closes.empty());
    CHECK(h.state.disconnect(c, LeaveReason::disconnect, h.now).deliveries.empty());
    CHECK(h.state.registration_expired(c).closes.empty());
  }
}
