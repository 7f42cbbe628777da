// The decode half of the protocol: wire names to EventType, ErrorCode,
// LeaveReason, ByeReason, and error codes as boost::system::error_code.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "corochat/protocol/codes.hpp"
#include "corochat/protocol/event_type.hpp"
#include "corochat/protocol/events.hpp"

namespace json = boost::json;
using namespace corochat::protocol;

namespace {

const std::vector<std::string> event_names{"welcome", "joined", "left", "nick",    "message", "private", "who",
                                           "rooms",   "history", "ping", "pong",   "error",   "bye"};
const std::vector<std::string> error_names{
    "bad_json",    "bad_request", "unknown_type",   "line_too_long", "not_registered", "already_registered",
    "auth_failed", "bad_nick",    "nick_taken",     "bad_room",      "not_in_room",    "already_joined",
    "no_such_nick", "text_too_long", "rate_limited", "too_many_rooms", "server_full"};
const std::vector<std::string> leave_names{"part", "quit", "disconnect", "timeout", "slow_consumer", "replaced",
                                           "kicked"};
const std::vector<std::string> bye_names{"quit",        "shutdown", "timeout", "auth_failed",
                                         "server_full", "replaced", "registration_timeout"};

json::object parse_object(const SharedLine& line) { return json::parse(*line).as_object(); }

}  // namespace

TEST_CASE("every event name of the protocol parses to its own type and back", "[event-decode]") {
  std::set<EventType> seen;
  for (const std::string& name : event_names) {
    INFO(name);
    const EventType type = parse_event_type(name);
    CHECK(type != EventType::unknown);
    CHECK(to_string(type) == name);
    seen.insert(type);
  }
  CHECK(seen.size() == event_names.size());
  CHECK(parse_event_type("private") == EventType::private_message);
}

TEST_CASE("names that are not event types parse to unknown", "[event-decode]") {
  for (std::string_view name : {"", "unknown", "Welcome", "welcome ", "msg", "say", "hello", "quit"}) {
    INFO(name);
    CHECK(parse_event_type(name) == EventType::unknown);
  }
}

TEST_CASE("the type of an event object comes from its type field", "[event-decode]") {
  CHECK(event_type_of(json::parse(R"({"type":"bye","reason":"quit"})").as_object()) == EventType::bye);
  CHECK(event_type_of(json::parse(R"({"type":"private","text":"x"})").as_object()) == EventType::private_message);
  CHECK(event_type_of(json::parse(R"({"type":"shout"})").as_object()) == EventType::unknown);
  CHECK(event_type_of(json::parse(R"({"type":7})").as_object()) == EventType::unknown);
  CHECK(event_type_of(json::parse(R"({"code":"bad_json"})").as_object()) == EventType::unknown);
}

TEST_CASE("every event the server builds decodes to the type it was built as", "[event-decode]") {
  const std::vector<std::string> members{"alice"};
  const std::vector<std::pair<std::string, std::size_t>> rooms{{"lobby", 1}};
  const std::string room = "lobby";
  CHECK(event_type_of(event::joined("lobby", "alice", 1)) == EventType::joined);
  CHECK(event_type_of(event::left("lobby", "alice", LeaveReason::part, 1)) == EventType::left);
  CHECK(event_type_of(event::nick("a", "b", 1)) == EventType::nick);
  CHECK(event_type_of(event::message("lobby", "a", "hi", 1, 1)) == EventType::message);
  CHECK(event_type_of(event::private_message("a", "b", "hi", 1)) == EventType::private_message);
  CHECK(event_type_of(event::who(&room, members)) == EventType::who);
  CHECK(event_type_of(event::rooms(rooms)) == EventType::rooms);
  CHECK(event_type_of(event::ping()) == EventType::ping);
  CHECK(event_type_of(event::pong()) == EventType::pong);
  CHECK(event_type_of(event::bye(ByeReason::quit)) == EventType::bye);
  CHECK(event_type_of(event::error(ErrorCode::bad_json, "x")) == EventType::error);
  CHECK(event_type_of(parse_object(history_line("lobby", {}, std::nullopt))) == EventType::history);
  const AdvertisedLimits limits;
  const WelcomeInfo info{"alice", "chatd/0", "e", "t", {}, limits, {}};
  CHECK(event_type_of(event::welcome(info)) == EventType::welcome);
}

TEST_CASE("every error code round-trips through its wire name", "[event-decode]") {
  std::set<ErrorCode> seen;
  for (const std::string& name : error_names) {
    INFO(name);
    const std::optional<ErrorCode> code = parse_error_code(name);
    REQUIRE(code);
    CHECK(to_string(*code) == name);
    seen.insert(*code);
  }
  CHECK(seen.size() == error_names.size());
  CHECK_FALSE(parse_error_code("unknown"));
  CHECK_FALSE(parse_error_code(""));
  CHECK_FALSE(parse_error_code("Nick_Taken"));
}

TEST_CASE("every leave and bye reason round-trips through its wire name", "[event-decode]") {
  std::set<LeaveReason> leaves;
  for (const std::string& name : leave_names) {
    INFO(name);
    const std::optional<LeaveReason> reason = parse_leave_reason(name);
    REQUIRE(reason);
    CHECK(to_string(*reason) == name);
    leaves.insert(*reason);
  }
  CHECK(leaves.size() == leave_names.size());
  std::set<ByeReason> byes;
  for (const std::string& name : bye_names) {
    INFO(name);
    const std::optional<ByeReason> reason = parse_bye_reason(name);
    REQUIRE(reason);
    CHECK(to_string(*reason) == name);
    byes.insert(*reason);
  }
  CHECK(byes.size() == bye_names.size());
  // The two vocabularies differ: a leave reason is not a bye reason.
  CHECK_FALSE(parse_bye_reason("part"));
  CHECK_FALSE(parse_leave_reason("shutdown"));
  CHECK_FALSE(parse_leave_reason("unknown"));
  CHECK_FALSE(parse_bye_reason(""));
}

TEST_CASE("an error code is a boost error_code of the corochat category", "[event-decode]") {
  for (const std::string& name : error_names) {
    INFO(name);
    const ErrorCode code = *parse_error_code(name);
    const boost::system::error_code ec = code;  // through is_error_code_enum
    CHECK(ec);  // none of them is success, bad_json (the first) included
    CHECK(std::string(ec.category().name()) == "corochat");
    CHECK(ec == code);
    CHECK(to_error_code(ec) == code);
    CHECK_FALSE(ec.message().empty());
    CHECK(ec.message().find('_') == std::string::npos);  // plain words, not the wire name
  }
  const boost::system::error_code taken = ErrorCode::nick_taken;
  CHECK(taken != ErrorCode::bad_nick);
  CHECK(taken.message() == "the nick is in use");
}

TEST_CASE("error codes of other categories are no protocol error code", "[event-decode]") {
  const boost::system::error_code none;
  CHECK_FALSE(to_error_code(none));
  const boost::system::error_code generic = make_error_code(boost::system::errc::timed_out);
  CHECK_FALSE(to_error_code(generic));
  CHECK(generic != ErrorCode::bad_json);
  // Same value, other category: not equal.
  const boost::system::error_code same_value(make_error_code(ErrorCode::bad_json).value(),
                                             boost::system::generic_category());
  CHECK(same_value != ErrorCode::bad_json);
  CHECK_FALSE(to_error_code(same_value));
}
