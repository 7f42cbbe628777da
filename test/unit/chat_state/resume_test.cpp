// ChatState: resume with a welcome token, replacing the old connection.
#include "chat_state_harness.hpp"

using namespace corochat::chat_state_test;

TEST_CASE("state: resume with the right token replaces the old connection", "[state][resume]") {
  Harness h;
  const std::string token = h.hello_token(1, "alice");
  h.login(2, "bob");
  h.join(1, "dev");
  h.join(2, "dev");
  h.clear();

  h.connect(3);
  h.send(3, R"({"type":"hello","nick":"alice","resume":")" + token + R"(","id":"r"})");

  // The old connection: bye replaced, and it is closed.
  check_bye(h.take_one(1), "replaced");
  REQUIRE(h.closes.size() == 1);
  CHECK(h.closes[0] == std::pair<ClientId, ByeReason>{1, ByeReason::replaced});

  // Room-mates: left replaced for each room, then the newcomer's joined.
  auto to_bob = h.take(2);
  REQUIRE(types(to_bob) == Strings{"left", "left", "joined"});
  std::set<std::string> left_rooms;
  for (int i = 0; i < 2; ++i) {
    check_left(to_bob[i], str(to_bob[i], "room"), "alice", "replaced");
    left_rooms.insert(str(to_bob[i], "room"));
  }
  CHECK(left_rooms == std::set<std::string>{"lobby", "dev"});
  CHECK(str(to_bob[2], "room") == "lobby");

  // The new connection starts fresh, with the default room only.
  auto to_new = h.take(3);
  REQUIRE(types(to_new) == Strings{"welcome", "joined"});
  CHECK(id_of(to_new[0]) == json::value("r"));
  CHECK(str(to_new[0], "token") != token);
  CHECK(h.state.rooms_of(3) == Strings{"lobby"});
  CHECK(h.state.nick_of(3) == std::optional<std::string>("alice"));

  // Everything for the old connection comes before the new one's welcome.
  const auto pos = [&](ClientId c, std::string type) {
    return std::find(h.log.begin(), h.log.end(), std::pair<ClientId, std::string>{c, type}) - h.log.begin();
  };
  CHECK(pos(1, "bye") < pos(2, "left"));
  CHECK(pos(2, "left") < pos(3, "welcome"));

  // The old connection is gone from the state.
  CHECK(h.state.connection_count() == 2);
  CHECK(h.state.handle(1, std::get<Request>(parse_request(R"({"type":"ping"})")), h.now).deliveries.empty());
}

TEST_CASE("state: resume with a wrong token is nick_taken and leaves the owner alone", "[state][resume]") {
  Harness h;
  h.hello_token(1, "alice");
  h.connect(2);
  h.send(2, R"({"type":"hello","nick":"alice","resume":"token-999","id":7})");
  check_error(h.take_one(2), "nick_taken", id7);
  CHECK(h.received_nothing(1));
  CHECK(h.closes.empty());
  CHECK(h.state.nick_of(1) == std::optional<std::string>("alice"));
  CHECK_FALSE(h.state.is_registered(2));
}

TEST_CASE("state: a token for another nick does not resume", "[state][resume]") {
  Harness h;
  h.hello_token(1, "alice");
  const std::string bobs = h.hello_token(2, "bob");
  h.connect(3);
  h.send(3, R"({"type":"hello","nick":"alice","resume":")" + bobs + R"("})");
  check_error(h.take_one(3), "nick_taken");
  CHECK(h.closes.empty());
}

TEST_CASE("state: a resume token for a free nick is ignored", "[state][resume]") {
  Harness h;
  h.connect(1);
  h.send(1, R"({"type":"hello","nick":"alice","resume":"whatever","id":7})");
  auto lines = h.take(1);
  REQUIRE(types(lines) == Strings{"welcome", "joined"});
  CHECK(h.closes.empty());
}

namespace {

// A stand-in for the store's SHA-256: any function the state applies to a
// token before comparing it with the stored hash.
std::string fake_hash(std::string_view token) { return "hash:" + std::string(token); }

std::vector<std::string> token_nicks(const corochat::server::Effects& fx) {
  std::vector<std::string> out;
  for (const auto& change : fx.tokens) out.push_back(change.token + "=" + change.nick);
  return out;
}

}  // namespace

TEST_CASE("state: with a store a token is kept at hello and rename and forgotten when its connection ends",
          "[state][resume][store]") {
  Harness h;
  h.state.use_store("e", {});
  h.connect(1);
  auto fx = h.send(1, R"({"type":"hello","nick":"alice"})");
  CHECK(token_nicks(fx) == Strings{"token-1=alice"});
  CHECK(fx.tokens[0].expires > h.now);
  fx = h.send(1, R"({"type":"nick","nick":"alicia"})");
  CHECK(token_nicks(fx) == Strings{"token-1=alicia"});
  CHECK(token_nicks(h.state.disconnect(1, corochat::protocol::LeaveReason::disconnect, h.now)) == Strings{"token-1="});

  // A shutdown keeps them: they are what lets users resume after the restart.
  h.login(2, "bob");
  CHECK(h.state.shutdown().tokens.empty());
}

TEST_CASE("state: without a store no token is kept", "[state][resume]") {
  Harness h;
  h.connect(1);
  CHECK(h.send(1, R"({"type":"hello","nick":"alice"})").tokens.empty());
}

TEST_CASE("state: after a restart a reserved nick needs its token until the grace is over",
          "[state][resume][store]") {
  StateConfig config;
  config.resume_grace_ms = 60'000;
  Harness h(config);
  h.state.use_store("e", {});
  h.state.reserve_nicks({{"Alice", fake_hash("old-token")}}, h.now, fake_hash);

  // Someone else, in any case: nick_taken, and no rename to it either.
  h.connect(1);
  h.send(1, R"({"type":"hello","nick":"alice","id":7})");
  check_error(h.take_one(1), "nick_taken", id7);
  h.send(1, R"({"type":"hello","nick":"alice","resume":"wrong","id":7})");
  check_error(h.take_one(1), "nick_taken", id7);
  h.login(2, "bob");
  h.send(2, R"({"type":"nick","nick":"ALICE","id":7})");
  check_error(h.take_one(2), "nick_taken", id7);

  // The owner, with the token from before the restart.
  h.send(1, R"({"type":"hello","nick":"alice","resume":"old-token"})");
  CHECK(h.state.nick_of(1) == std::optional<std::string>("alice"));

  // Once claimed the reservation is gone: the usual rules apply again.
  h.state.disconnect(1, corochat::protocol::LeaveReason::disconnect, h.now);
  h.connect(3);
  h.send(3, R"({"type":"hello","nick":"alice"})");
  CHECK(h.state.is_registered(3));
}

TEST_CASE("state: a reservation nobody claims ends with the grace", "[state][resume][store]") {
  StateConfig config;
  config.resume_grace_ms = 60'000;
  Harness h(config);
  h.state.use_store("e", {});
  h.state.reserve_nicks({{"alice", fake_hash("old-token")}}, h.now, fake_hash);
  h.now += 59'000;
  h.connect(1);
  h.send(1, R"({"type":"hello","nick":"alice"})");
  CHECK_FALSE(h.state.is_registered(1));
  h.now += 1'000;
  h.send(1, R"({"type":"hello","nick":"alice"})");
  CHECK(h.state.is_registered(1));
}
