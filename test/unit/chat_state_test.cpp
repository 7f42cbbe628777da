#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include "corochat/protocol/request.hpp"
#include "server/chat_state.hpp"

namespace json = boost::json;
using namespace corochat::protocol;
using corochat::server::ChatState;
using corochat::server::ClientId;
using corochat::server::Effects;
using corochat::server::Network;
using corochat::server::StateConfig;

namespace {

// ---------------------------------------------------------------- JSON helpers

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  INFO("field " << key << " in " << json::serialize(o));
  REQUIRE(v);
  REQUIRE(v->is_string());
  return std::string(v->get_string());
}

std::int64_t num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  INFO("field " << key << " in " << json::serialize(o));
  REQUIRE(v);
  REQUIRE(v->is_int64());
  return v->get_int64();
}

std::string type_of(const json::object& o) { return str(o, "type"); }

std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& s : v.as_array()) out.emplace_back(s.as_string());
  return out;
}

std::vector<std::string> types(const std::vector<json::object>& lines) {
  std::vector<std::string> out;
  for (const auto& o : lines) out.push_back(type_of(o));
  return out;
}

using Strings = std::vector<std::string>;

// The id a line carries, if any.
std::optional<json::value> id_of(const json::object& o) {
  if (const json::value* v = o.if_contains("id")) return *v;
  return std::nullopt;
}

void check_error(const json::object& o, std::string_view code, std::optional<json::value> id = std::nullopt) {
  INFO(json::serialize(o));
  CHECK(type_of(o) == "error");
  CHECK(str(o, "code") == code);
  CHECK(o.contains("message"));
  CHECK(id_of(o) == id);
}

void check_bye(const json::object& o, std::string_view reason, std::optional<json::value> id = std::nullopt) {
  INFO(json::serialize(o));
  CHECK(type_of(o) == "bye");
  CHECK(str(o, "reason") == reason);
  CHECK(id_of(o) == id);
}

void check_left(const json::object& o, std::string_view room, std::string_view nick, std::string_view reason) {
  INFO(json::serialize(o));
  CHECK(type_of(o) == "left");
  CHECK(str(o, "room") == room);
  CHECK(str(o, "nick") == nick);
  CHECK(str(o, "reason") == reason);
  CHECK(o.contains("ts"));
}

// ---------------------------------------------------------------- the harness

// Drives a ChatState with request lines and applies the Effects it returns to
// per-client outboxes, as the broadcaster would.
struct Harness {
  int tokens_made = 0;  // the deterministic token source: token-1, token-2, ...
  ChatState state;
  Timestamp now = 1'000'000;

  std::map<ClientId, std::vector<json::object>> outbox;  // lines each client received
  std::vector<std::pair<ClientId, std::string>> log;     // (client, type) in delivery order
  std::vector<std::pair<ClientId, ByeReason>> closes;    // in order

  explicit Harness(StateConfig config = {})
      : state(std::move(config), [this] { return "token-" + std::to_string(++tokens_made); }) {}

  void apply(const Effects& fx) {
    for (const auto& delivery : fx.deliveries) {
      REQUIRE(delivery.line);
      REQUIRE_FALSE(delivery.line->empty());
      REQUIRE(delivery.line->back() == '\n');
      REQUIRE(std::count(delivery.line->begin(), delivery.line->end(), '\n') == 1);
      const json::object line = json::parse(*delivery.line).as_object();
      std::set<ClientId> seen;
      for (ClientId to : delivery.to) {
        REQUIRE(seen.insert(to).second);  // no one twice in one delivery
        outbox[to].push_back(line);
        log.emplace_back(to, type_of(line));
      }
    }
    for (const auto& c : fx.closes) closes.emplace_back(c.client, c.reason);
  }

  // One request line from `client`, parsed as the server parses it; each
  // request is handled one millisecond after the previous one.
  Effects send(ClientId client, std::string_view line) {
    ++now;
    ParseResult parsed = parse_request(line);
    Effects fx = std::holds_alternative<Request>(parsed)
                     ? state.handle(client, std::get<Request>(parsed), now)
                     : state.reject(client, std::get<RequestError>(parsed));
    apply(fx);
    return fx;
  }

  void connect(ClientId client, const Network& network = {}) { apply(state.connect(client, 0, network)); }

  // Connects and registers `client` as `nick`, then forgets what was sent.
  void login(ClientId client, std::string_view nick, const Network& network = {}) {
    connect(client, network);
    send(client, R"({"type":"hello","nick":")" + std::string(nick) + R"("})");
    REQUIRE(state.is_registered(client));
    clear();
  }

  void join(ClientId client, std::string_view room) {
    send(client, R"({"type":"join","room":")" + std::string(room) + R"("})");
    const auto rooms = state.rooms_of(client);
    REQUIRE(std::count(rooms.begin(), rooms.end(), std::string(room)) == 1);
  }

  void say(ClientId client, std::string_view room, std::string_view text) {
    send(client, R"({"type":"say","room":")" + std::string(room) + R"(","text":")" + std::string(text) + R"("})");
  }

  // What `client` received since the last take/clear, and forgets it.
  std::vector<json::object> take(ClientId client) {
    auto lines = std::move(outbox[client]);
    outbox[client].clear();
    return lines;
  }

  // The one line `client` received since the last take/clear.
  json::object take_one(ClientId client) {
    auto lines = take(client);
    INFO("client " << client << " received " << lines.size() << " lines");
    REQUIRE(lines.size() == 1);
    return lines.front();
  }

  bool received_nothing(ClientId client) const {
    auto it = outbox.find(client);
    return it == outbox.end() || it->second.empty();
  }

  bool closed(ClientId client) const {
    return std::any_of(closes.begin(), closes.end(), [&](const auto& c) { return c.first == client; });
  }

  void clear() {
    outbox.clear();
    log.clear();
    closes.clear();
  }

  std::string hello_token(ClientId client, std::string_view nick) {
    connect(client);
    send(client, R"({"type":"hello","nick":")" + std::string(nick) + R"("})");
    auto lines = take(client);
    REQUIRE_FALSE(lines.empty());
    REQUIRE(type_of(lines.front()) == "welcome");
    clear();
    return str(lines.front(), "token");
  }
};

StateConfig no_default_room() {
  StateConfig c;
  c.default_room = "";
  return c;
}

const json::value id7 = json::value(7);

}  // namespace

// ================================================================ hello / welcome

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

// ================================================================ resume

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

// ================================================================ nick

TEST_CASE("state: nick change reaches the requester and every room-mate once", "[state][nick]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.login(3, "carol");
  h.login(4, "dave");
  h.join(1, "dev");
  h.join(2, "dev");           // bob shares lobby and dev with alice
  h.send(4, R"({"type":"part","room":"lobby"})");  // dave shares nothing
  h.clear();

  h.send(1, R"({"type":"nick","nick":"alicia","id":7})");

  auto mine = h.take_one(1);
  CHECK(type_of(mine) == "nick");
  CHECK(str(mine, "old") == "alice");
  CHECK(str(mine, "new") == "alicia");
  CHECK(id_of(mine) == id7);

  auto bobs = h.take_one(2);
  CHECK(str(bobs, "new") == "alicia");
  CHECK_FALSE(id_of(bobs));
  CHECK(num(bobs, "ts") == num(mine, "ts"));

  auto carols = h.take_one(3);
  CHECK(str(carols, "new") == "alicia");
  CHECK_FALSE(id_of(carols));

  CHECK(h.received_nothing(4));
  CHECK(h.state.nick_of(1) == std::optional<std::string>("alicia"));

  // The old nick is free, the new one taken.
  h.connect(5);
  h.send(5, R"({"type":"hello","nick":"ALICIA"})");
  check_error(h.take_one(5), "nick_taken");
  h.send(5, R"({"type":"hello","nick":"alice"})");
  CHECK(h.state.nick_of(5) == std::optional<std::string>("alice"));
}

TEST_CASE("state: a change of case only is allowed and announced", "[state][nick]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.send(1, R"({"type":"nick","nick":"ALICE"})");
  CHECK(str(h.take_one(1), "new") == "ALICE");
  CHECK(str(h.take_one(2), "new") == "ALICE");
  CHECK(h.state.nick_of(1) == std::optional<std::string>("ALICE"));

  // Still owned: nobody else can take it in any case.
  h.connect(3);
  h.send(3, R"({"type":"hello","nick":"alice"})");
  check_error(h.take_one(3), "nick_taken");
}

TEST_CASE("state: the identical nick sends the event to the requester alone", "[state][nick]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.send(1, R"({"type":"nick","nick":"alice","id":7})");
  auto mine = h.take_one(1);
  CHECK(type_of(mine) == "nick");
  CHECK(str(mine, "old") == "alice");
  CHECK(str(mine, "new") == "alice");
  CHECK(id_of(mine) == id7);
  CHECK(h.received_nothing(2));
}

TEST_CASE("state: a nick in use or invalid is refused", "[state][nick]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "Bob");

  h.send(1, R"({"type":"nick","nick":"bob","id":7})");
  check_error(h.take_one(1), "nick_taken", id7);
  h.send(1, R"({"type":"nick","nick":"-bob","id":7})");
  check_error(h.take_one(1), "bad_nick", id7);
  h.send(1, R"({"type":"nick","id":7})");
  check_error(h.take_one(1), "bad_request", id7);

  CHECK(h.received_nothing(2));
  CHECK(h.state.nick_of(1) == std::optional<std::string>("alice"));
}

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

// ================================================================ say

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

// ================================================================ msg

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

// ================================================================ history

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

// ================================================================ limits

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

namespace {
// A network as Admission::key_of gives it; only its identity matters here.
Network net(std::uint8_t n) {
  Network network{};
  network[15] = n;
  return network;
}
}  // namespace

TEST_CASE("state: max_rooms_per_network bounds the rooms one network holds", "[state][limits]") {
  StateConfig config;
  config.max_rooms_per_network = 2;
  Harness h(config);
  h.login(1, "alice", net(1));
  h.login(2, "bob", net(1));
  h.join(1, "a");
  h.join(2, "b");
  h.clear();
  h.send(1, R"({"type":"join","room":"c","id":7})");
  auto refused = h.take_one(1);
  check_error(refused, "too_many_rooms", id7);
  CHECK(str(refused, "message").find("network") != std::string::npos);
  CHECK(str(refused, "message").find('2') != std::string::npos);
  CHECK_FALSE(h.state.room_seq("c"));
  // A room the network already holds costs nothing more.
  h.join(1, "b");
  h.join(2, "a");
  // The default room does not count, explicitly joined or not.
  h.send(1, R"({"type":"part","room":"lobby"})");
  h.join(1, "lobby");
  CHECK(h.state.rooms_of(1) == Strings{"a", "b", "lobby"});
  CHECK(h.state.check_invariants() == std::nullopt);
}

TEST_CASE("state: a network's room is freed when its last member there leaves", "[state][limits]") {
  StateConfig config;
  config.max_rooms_per_network = 2;
  Harness h(config);
  h.login(1, "alice", net(1));
  h.login(2, "bob", net(1));
  h.join(1, "a");
  h.join(2, "a");
  h.join(1, "b");
  h.clear();
  h.send(1, R"({"type":"part","room":"a"})");  // bob still holds a for the network
  h.clear();
  h.send(1, R"({"type":"join","room":"c"})");
  check_error(h.take_one(1), "too_many_rooms");
  h.apply(h.state.disconnect(2, LeaveReason::disconnect, h.now));  // now a is free
  h.join(1, "c");
  h.send(1, R"({"type":"part","room":"b"})");
  h.join(1, "d");
  CHECK(h.state.check_invariants() == std::nullopt);
}

TEST_CASE("state: networks are capped independently", "[state][limits]") {
  StateConfig config;
  config.max_rooms_per_network = 2;
  Harness h(config);
  h.login(1, "alice", net(1));
  h.login(2, "carol", net(2));
  h.join(1, "a");
  h.join(1, "b");
  // Network 2 is not held back by network 1's rooms, shared or not.
  h.join(2, "a");
  h.join(2, "c");
  h.clear();
  h.send(2, R"({"type":"join","room":"d"})");
  check_error(h.take_one(2), "too_many_rooms");
  h.send(1, R"({"type":"join","room":"c"})");
  check_error(h.take_one(1), "too_many_rooms");
  // Network 1 leaving a shared room frees it for network 1 only.
  h.send(1, R"({"type":"part","room":"a"})");
  h.join(1, "c");
  h.clear();
  h.send(2, R"({"type":"join","room":"d"})");
  check_error(h.take_one(2), "too_many_rooms");
  CHECK(h.state.check_invariants() == std::nullopt);
}

TEST_CASE("state: max_rooms_per_network 0 is no limit", "[state][limits]") {
  StateConfig config;
  config.max_rooms_per_network = 0;
  Harness h(config);
  h.login(1, "alice", net(1));
  for (int i = 0; i < 30; ++i) h.join(1, "r" + std::to_string(i));
  CHECK(h.state.check_invariants() == std::nullopt);
}

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

// ================================================================ check_invariants

TEST_CASE("state: check_invariants holds through a busy session", "[state][invariants]") {
  StateConfig config;
  config.history = 2;
  config.max_rooms = 2;  // besides the lobby
  config.max_rooms_per_client = 2;
  config.remembered_rooms = 1;
  Harness h(config);
  auto holds = [&] {
    const auto violation = h.state.check_invariants();
    INFO(violation.value_or(""));
    CHECK_FALSE(violation);
  };
  holds();  // empty
  h.login(1, "alice");
  h.login(2, "bob");
  h.connect(3);  // never registers
  holds();
  h.join(1, "r1");
  for (int i = 0; i < 5; ++i) h.say(1, "r1", "hi");  // history ring wraps
  h.send(2, R"({"type":"join","room":"r1"})");
  h.send(2, R"({"type":"join","room":"r2"})");  // over max_rooms_per_client
  h.send(2, R"({"type":"nick","nick":"Bob"})");  // case change only
  h.send(2, R"({"type":"nick","nick":"carol"})");
  holds();
  h.send(1, R"({"type":"part","room":"r1"})");
  h.send(2, R"({"type":"part","room":"r1"})");  // r1 empty, kept for its history
  h.send(2, R"({"type":"part","room":"lobby"})");
  h.join(2, "r2");
  h.join(2, "r3");  // over max_rooms: r1 is forgotten
  CHECK_FALSE(h.state.room_seq("r1"));
  holds();
  const std::string token = h.hello_token(4, "dave");
  h.connect(5);
  h.send(5, R"({"type":"hello","nick":"DAVE","resume":")" + token + R"("})");  // replaces 4
  h.apply(h.state.timed_out(1, ++h.now));
  h.apply(h.state.disconnect(2, LeaveReason::slow_consumer, ++h.now));
  h.apply(h.state.registration_expired(3));
  holds();
  CHECK(h.state.connection_count() == 1);
  h.apply(h.state.shutdown());
  holds();
}

// ------------------------------------------------------------------ presence

namespace {
// The recipients of each delivery of `fx` whose line has type `type`, with
// whether it was marked presence.
std::vector<std::pair<std::set<ClientId>, bool>> deliveries_of(const Effects& fx, std::string_view type) {
  std::vector<std::pair<std::set<ClientId>, bool>> found;
  for (const auto& d : fx.deliveries)
    if (type_of(json::parse(*d.line).as_object()) == type)
      found.emplace_back(std::set<ClientId>(d.to.begin(), d.to.end()), d.presence);
  return found;
}
}  // namespace

TEST_CASE("state: a join is presence for the members, a reply for the joiner", "[state][presence]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.login(3, "carol");
  h.join(1, "den");
  h.join(2, "den");
  h.clear();
  const std::string with_id = GENERATE(std::string(R"(,"id":7)"), std::string());
  const Effects fx = h.send(3, R"({"type":"join","room":"den")" + with_id + "}");
  const auto joined = deliveries_of(fx, "joined");
  REQUIRE(joined.size() == 2);
  for (const auto& [to, presence] : joined) {
    if (to.count(3)) {
      CHECK(to == std::set<ClientId>{3});
      CHECK_FALSE(presence);
    } else {
      CHECK(to == std::set<ClientId>{1, 2});
      CHECK(presence);
    }
  }
  // Each got the event once, the joiner its id when it gave one.
  CHECK(id_of(h.take_one(3)) == (with_id.empty() ? std::nullopt : std::optional<json::value>(7)));
  CHECK(type_of(h.take_one(1)) == "joined");
  CHECK(type_of(h.take_one(2)) == "joined");
}

TEST_CASE("state: a part and a disconnect are presence for the others", "[state][presence]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(1, "den");
  h.join(2, "den");
  h.join(1, "den");
  h.join(2, "den");
  h.clear();
  const auto parted = deliveries_of(h.send(2, R"({"type":"part","room":"den"})"), "left");
  REQUIRE(parted.size() == 2);
  for (const auto& [to, presence] : parted) CHECK(presence == (to == std::set<ClientId>{1}));
  const auto dropped = deliveries_of(h.state.disconnect(2, LeaveReason::disconnect, h.now), "left");
  REQUIRE(dropped.size() == 1);
  CHECK(dropped.front().first == std::set<ClientId>{1});
  CHECK(dropped.front().second);
}

TEST_CASE("state: a message is never presence", "[state][presence]") {
  Harness h;
  h.login(1, "alice");
  h.login(2, "bob");
  h.join(1, "den");
  h.join(2, "den");
  for (const auto& d : h.send(1, R"({"type":"say","room":"den","text":"hi"})").deliveries) CHECK_FALSE(d.presence);
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
