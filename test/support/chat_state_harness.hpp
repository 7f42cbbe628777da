// The shared harness of the ChatState unit tests: a ChatState driven with
// request lines, the lines each client received parsed back to JSON, and the
// checks of the events the tests look at most.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "corochat/protocol/request.hpp"
#include "server/chat_state.hpp"

namespace corochat::chat_state_test {

namespace json = boost::json;
// Every name the tests take from the server, in one place.
using namespace corochat::protocol;
using server::ChatState;
using server::ClientId;
using server::Effects;
using server::Network;
using server::StateConfig;

// ---------------------------------------------------------------- JSON helpers

inline std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  INFO("field " << key << " in " << json::serialize(o));
  REQUIRE(v);
  REQUIRE(v->is_string());
  return std::string(v->get_string());
}

inline std::int64_t num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  INFO("field " << key << " in " << json::serialize(o));
  REQUIRE(v);
  REQUIRE(v->is_int64());
  return v->get_int64();
}

inline std::string type_of(const json::object& o) { return str(o, "type"); }

inline std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  for (const auto& s : v.as_array()) out.emplace_back(s.as_string());
  return out;
}

inline std::vector<std::string> types(const std::vector<json::object>& lines) {
  std::vector<std::string> out;
  for (const auto& o : lines) out.push_back(type_of(o));
  return out;
}

using Strings = std::vector<std::string>;

// The id a line carries, if any.
inline std::optional<json::value> id_of(const json::object& o) {
  if (const json::value* v = o.if_contains("id")) return *v;
  return std::nullopt;
}

inline void check_error(const json::object& o, std::string_view code, std::optional<json::value> id = std::nullopt) {
  INFO(json::serialize(o));
  CHECK(type_of(o) == "error");
  CHECK(str(o, "code") == code);
  CHECK(o.contains("message"));
  CHECK(id_of(o) == id);
}

inline void check_bye(const json::object& o, std::string_view reason, std::optional<json::value> id = std::nullopt) {
  INFO(json::serialize(o));
  CHECK(type_of(o) == "bye");
  CHECK(str(o, "reason") == reason);
  CHECK(id_of(o) == id);
}

inline void check_left(const json::object& o, std::string_view room, std::string_view nick, std::string_view reason) {
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

// A configuration where hello joins no room.
inline StateConfig no_default_room() {
  StateConfig c;
  c.default_room = "";
  return c;
}

// The id most test requests carry, to check it comes back in the reply.
inline const json::value id7 = json::value(7);

}  // namespace corochat::chat_state_test
