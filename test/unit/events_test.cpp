#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "corochat/protocol/codes.hpp"
#include "corochat/protocol/events.hpp"

namespace json = boost::json;
using namespace corochat::protocol;

namespace {

// A serialized line must end with exactly one '\n' and hold one JSON object.
json::object parse_line(const SharedLine& line) {
  REQUIRE(line);
  REQUIRE_FALSE(line->empty());
  REQUIRE(line->back() == '\n');
  const std::string_view body(line->data(), line->size() - 1);
  REQUIRE(body.find('\n') == std::string_view::npos);
  json::value v = json::parse(body);
  REQUIRE(v.is_object());
  return v.get_object();
}

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

// A string field's text, for comparing with plain strings.
std::string text(const json::value& v) {
  REQUIRE(v.is_string());
  return std::string(v.get_string());
}

}  // namespace

// ---------------------------------------------------------------- serialize_line

TEST_CASE("events: serialize_line without id is the event plus a newline", "[events]") {
  const auto event = event::joined("lobby", "alice", 1764093600000);
  const SharedLine line = serialize_line(event);
  const auto parsed = parse_line(line);
  CHECK(parsed == event);
  CHECK_FALSE(parsed.contains("id"));
  CHECK(*line == R"({"type":"joined","room":"lobby","nick":"alice","ts":1764093600000})"
                 "\n");
}

TEST_CASE("events: serialize_line adds the id only when given", "[events]") {
  const auto event = event::pong();
  SECTION("integer id") {
    const auto parsed = parse_line(serialize_line(event, json::value(7)));
    CHECK(parsed == obj(R"({"type":"pong","id":7})"));
  }
  SECTION("string id") {
    const auto parsed = parse_line(serialize_line(event, json::value("req-1")));
    CHECK(parsed == obj(R"({"type":"pong","id":"req-1"})"));
  }
  SECTION("uint64 id is echoed unchanged") {
    json::value id = json::parse("18446744073709551615");
    const SharedLine line = serialize_line(event, id);
    CHECK(line->find("18446744073709551615") != std::string::npos);
    CHECK(parse_line(line).at("id") == id);
  }
  SECTION("nullopt: no id") {
    CHECK_FALSE(parse_line(serialize_line(event, std::nullopt)).contains("id"));
  }
  SECTION("the event itself is not modified") {
    json::object e = event::ping();
    serialize_line(e, json::value(1));
    CHECK_FALSE(e.contains("id"));
  }
}

TEST_CASE("events: strings are escaped so the line stays one line", "[events]") {
  const auto line = serialize_line(event::message("r", "a", "two\nlines \"quoted\" \\ tab\t", 1, 1));
  CHECK(text(parse_line(line).at("text")) == "two\nlines \"quoted\" \\ tab\t");
}

// ---------------------------------------------------------------- event builders

TEST_CASE("events: builders carry the protocol's fields", "[events]") {
  CHECK(event::left("dev", "bob", LeaveReason::timeout, 5) ==
        obj(R"({"type":"left","room":"dev","nick":"bob","reason":"timeout","ts":5})"));
  CHECK(event::nick("old", "new", 6) == obj(R"({"type":"nick","old":"old","new":"new","ts":6})"));
  CHECK(event::message("dev", "bob", "hi", 7, 3) ==
        obj(R"({"type":"message","room":"dev","from":"bob","text":"hi","ts":7,"seq":3})"));
  CHECK(event::private_message("a", "B", "x", 8) ==
        obj(R"({"type":"private","from":"a","to":"B","text":"x","ts":8})"));
  CHECK(event::ping() == obj(R"({"type":"ping"})"));
  CHECK(event::pong() == obj(R"({"type":"pong"})"));
  CHECK(event::bye(ByeReason::server_full) == obj(R"({"type":"bye","reason":"server_full"})"));

  const std::string room = "dev";
  CHECK(event::who(&room, {"a", "b"}) == obj(R"({"type":"who","room":"dev","members":["a","b"]})"));
  CHECK(event::who(nullptr, {}) == obj(R"({"type":"who","members":[]})"));
  CHECK(event::rooms({{"a", 2}, {"b", 1}}) ==
        obj(R"({"type":"rooms","rooms":[{"room":"a","members":2},{"room":"b","members":1}]})"));
}

TEST_CASE("events: welcome has every field and limits, motd only when set", "[events]") {
  const std::vector<std::string> rooms{"lobby"};
  const AdvertisedLimits limits{};
  WelcomeInfo info{.nick = "alice",
                   .server = "chatd/0.1.0",
                   .epoch = "k3f9",
                   .token = "c2VjcmV0",
                   .rooms = rooms,
                   .limits = limits,
                   .motd = ""};
  CHECK(event::welcome(info) ==
        obj(R"({"type":"welcome","nick":"alice","server":"chatd/0.1.0","protocol":1,"epoch":"k3f9",)"
            R"("token":"c2VjcmV0","rooms":["lobby"],"limits":{"max_line":16384,"max_text":4096,"rate":10,)"
            R"("burst":20,"history":100,"idle":120,"max_rooms_per_client":50}})"));

  info.motd = "be nice";
  CHECK(text(event::welcome(info).at("motd")) == "be nice");
}

// ---------------------------------------------------------------- history_line

TEST_CASE("events: history_line splices stored lines into a valid history reply", "[events][history]") {
  const std::vector<SharedLine> stored{
      serialize_line(event::message("dev", "alice", "first", 100, 1)),
      serialize_line(event::message("dev", "bob", "sec\"ond\n", 101, 2)),
  };

  SECTION("without id") {
    const auto reply = parse_line(history_line("dev", stored, std::nullopt));
    CHECK(text(reply.at("type")) == "history");
    CHECK(text(reply.at("room")) == "dev");
    CHECK_FALSE(reply.contains("id"));
    const auto& messages = reply.at("messages").as_array();
    REQUIRE(messages.size() == 2);
    CHECK(messages[0] == event::message("dev", "alice", "first", 100, 1));
    CHECK(messages[1] == event::message("dev", "bob", "sec\"ond\n", 101, 2));
  }
  SECTION("with an integer id") {
    const auto reply = parse_line(history_line("dev", stored, json::value(12)));
    CHECK(reply.at("id") == json::value(12));
    CHECK(reply.at("messages").as_array().size() == 2);
  }
  SECTION("with a string id") {
    const auto reply = parse_line(history_line("dev", stored, json::value("h")));
    CHECK(text(reply.at("id")) == "h");
  }
  SECTION("the whole reply compares equal to the expected object") {
    const auto reply = parse_line(history_line("dev", stored, json::value("h")));
    json::object expected;
    expected["type"] = "history";
    expected["room"] = "dev";
    expected["messages"] = json::array{event::message("dev", "alice", "first", 100, 1),
                                       event::message("dev", "bob", "sec\"ond\n", 101, 2)};
    expected["id"] = "h";
    CHECK(reply == expected);
  }
}

TEST_CASE("events: history_line with no messages is an empty array", "[events][history]") {
  const auto reply = parse_line(history_line("lobby", {}, std::nullopt));
  CHECK(reply == obj(R"({"type":"history","room":"lobby","messages":[]})"));
}

TEST_CASE("events: history_line with one message and a plain room name", "[events][history]") {
  const std::vector<SharedLine> stored{serialize_line(event::message("a-b_c.9", "x", "t", 1, 1))};
  const SharedLine line = history_line("a-b_c.9", stored, json::value(3));
  CHECK(*line ==
        R"({"type":"history","room":"a-b_c.9","messages":[{"type":"message","room":"a-b_c.9","from":"x","text":"t","ts":1,"seq":1}],"id":3})"
        "\n");
  CHECK(parse_line(line).at("messages").as_array().size() == 1);
}

// ---------------------------------------------------------------- error_line

TEST_CASE("events: error_line has code, message and the id if any", "[events]") {
  SECTION("with id") {
    const auto e = parse_line(error_line(ErrorCode::not_in_room, "not a member of nowhere", json::value("x")));
    CHECK(e == obj(R"({"type":"error","code":"not_in_room","message":"not a member of nowhere","id":"x"})"));
  }
  SECTION("without id") {
    const auto e = parse_line(error_line(ErrorCode::bad_json, "nope", std::nullopt));
    CHECK(e == obj(R"({"type":"error","code":"bad_json","message":"nope"})"));
  }
}

// ---------------------------------------------------------------- vocabularies

TEST_CASE("events: every ErrorCode is spelled as in the protocol", "[events][codes]") {
  const std::vector<std::pair<ErrorCode, std::string_view>> expected{
      {ErrorCode::bad_json, "bad_json"},
      {ErrorCode::bad_request, "bad_request"},
      {ErrorCode::unknown_type, "unknown_type"},
      {ErrorCode::line_too_long, "line_too_long"},
      {ErrorCode::not_registered, "not_registered"},
      {ErrorCode::already_registered, "already_registered"},
      {ErrorCode::auth_failed, "auth_failed"},
      {ErrorCode::bad_nick, "bad_nick"},
      {ErrorCode::nick_taken, "nick_taken"},
      {ErrorCode::bad_room, "bad_room"},
      {ErrorCode::not_in_room, "not_in_room"},
      {ErrorCode::already_joined, "already_joined"},
      {ErrorCode::no_such_nick, "no_such_nick"},
      {ErrorCode::text_too_long, "text_too_long"},
      {ErrorCode::rate_limited, "rate_limited"},
      {ErrorCode::too_many_rooms, "too_many_rooms"},
      {ErrorCode::server_full, "server_full"},
  };
  CHECK(expected.size() == 17);  // the protocol's full list
  for (const auto& [code, spelling] : expected) {
    INFO(spelling);
    CHECK(to_string(code) == spelling);
    CHECK(text(parse_line(error_line(code, "m", std::nullopt)).at("code")) == spelling);
  }
}

TEST_CASE("events: every LeaveReason is spelled as in the protocol", "[events][codes]") {
  const std::vector<std::pair<LeaveReason, std::string_view>> expected{
      {LeaveReason::part, "part"},
      {LeaveReason::quit, "quit"},
      {LeaveReason::disconnect, "disconnect"},
      {LeaveReason::timeout, "timeout"},
      {LeaveReason::slow_consumer, "slow_consumer"},
      {LeaveReason::replaced, "replaced"},
      {LeaveReason::kicked, "kicked"},
  };
  for (const auto& [reason, spelling] : expected) {
    INFO(spelling);
    CHECK(to_string(reason) == spelling);
    CHECK(text(event::left("r", "n", reason, 0).at("reason")) == spelling);
  }
}

TEST_CASE("events: every ByeReason is spelled as in the protocol", "[events][codes]") {
  const std::vector<std::pair<ByeReason, std::string_view>> expected{
      {ByeReason::quit, "quit"},
      {ByeReason::shutdown, "shutdown"},
      {ByeReason::timeout, "timeout"},
      {ByeReason::auth_failed, "auth_failed"},
      {ByeReason::server_full, "server_full"},
      {ByeReason::replaced, "replaced"},
      {ByeReason::registration_timeout, "registration_timeout"},
  };
  for (const auto& [reason, spelling] : expected) {
    INFO(spelling);
    CHECK(to_string(reason) == spelling);
    CHECK(text(event::bye(reason).at("reason")) == spelling);
  }
}

TEST_CASE("events: an action is marked only when true, and survives a history line", "[events]") {
  CHECK(event::message("dev", "bob", "waves", 7, 3, true) ==
        obj(R"({"type":"message","room":"dev","from":"bob","text":"waves","ts":7,"seq":3,"action":true})"));
  CHECK_FALSE(event::message("dev", "bob", "hi", 7, 3, false).contains("action"));
  CHECK(event::private_message("a", "B", "nods", 8, true) ==
        obj(R"({"type":"private","from":"a","to":"B","text":"nods","ts":8,"action":true})"));
  CHECK_FALSE(event::private_message("a", "B", "x", 8, false).contains("action"));
  const SharedLine stored[] = {serialize_line(event::message("dev", "bob", "waves", 7, 3, true))};
  const json::object history = json::parse(*history_line("dev", stored, std::nullopt)).as_object();
  CHECK(history.at("messages").as_array().at(0).as_object().at("action") == json::value(true));
}
