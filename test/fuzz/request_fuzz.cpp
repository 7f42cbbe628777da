// Fuzzes parse_request (and Boost.JSON's parser, compiled in) with one line.
//
// Beyond "no crash, no sanitizer report", it checks that:
// - a request's id, when it has one, is an integer or a string of at most 64
//   bytes, and a bad_json error never carries an id;
// - the outcome depends on the JSON value only, not on how it was spelled:
//   the line re-serialized by Boost.JSON parses to the same request or error;
// - the error line the server would send back (with the request's id) is one
//   line of valid JSON carrying that same id;
// - nick folding is idempotent and does not change validity.
//
// Input: the line, as the framer would hand it out.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "corochat/protocol/events.hpp"
#include "corochat/protocol/names.hpp"
#include "corochat/protocol/request.hpp"

namespace {

namespace json = boost::json;
using namespace corochat::protocol;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "request_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

std::string show(const std::optional<std::string>& s) { return s ? "\"" + *s + "\"" : "-"; }
std::string show(const std::optional<std::int64_t>& n) { return n ? std::to_string(*n) : "-"; }

// A canonical description of a parse result, to compare two of them.
struct Describe {
  std::string operator()(const Hello& r) const {
    return "hello " + std::to_string(r.protocol_ok) + show(r.password) + show(r.nick) + show(r.resume);
  }
  std::string operator()(const ChangeNick& r) const { return "nick " + r.nick; }
  std::string operator()(const Join& r) const { return "join " + r.room; }
  std::string operator()(const Part& r) const { return "part " + r.room; }
  std::string operator()(const Say& r) const { return "say " + r.room + "|" + r.text; }
  std::string operator()(const PrivateMessage& r) const { return "msg " + r.to + "|" + r.text; }
  std::string operator()(const Who& r) const { return "who " + show(r.room); }
  std::string operator()(const ListRooms&) const { return "rooms"; }
  std::string operator()(const History& r) const {
    return "history " + r.room + "|" + show(r.limit) + "|" + show(r.before);
  }
  std::string operator()(const Ping&) const { return "ping"; }
  std::string operator()(const Pong&) const { return "pong"; }
  std::string operator()(const Quit& r) const { return "quit " + show(r.reason); }
  std::string operator()(const Malformed& r) const { return "malformed " + r.message; }
};

std::string describe_id(const RequestId& id) { return id ? json::serialize(*id) : "-"; }

std::string describe(const ParseResult& result) {
  if (const auto* request = std::get_if<Request>(&result))
    return std::visit(Describe{}, request->body) + " id " + describe_id(request->id);
  const auto& error = std::get<RequestError>(result);
  return "error " + std::string(to_string(error.code)) + " " + error.message + " id " + describe_id(error.id);
}

void check_id(const RequestId& id) {
  if (!id) return;
  if (id->is_int64() || id->is_uint64()) return;
  if (id->is_string() && id->get_string().size() <= max_id_bytes) return;
  fail("an id of a form the protocol forbids", json::serialize(*id));
}

// The error reply for this outcome must be one valid JSON line with the same id.
void check_error_line(const RequestId& id) {
  const SharedLine line = error_line(ErrorCode::bad_request, "x", id);
  if (line->empty() || line->back() != '\n' || line->find('\n') != line->size() - 1)
    fail("error line is not one line", *line);
  boost::system::error_code ec;
  const json::value reply = json::parse(*line, ec);
  if (ec || !reply.is_object()) fail("error line is not a JSON object", *line);
  const json::value* echoed = reply.get_object().if_contains("id");
  if (static_cast<bool>(echoed) != static_cast<bool>(id) || (echoed && *echoed != *id))
    fail("error line does not carry the request's id", *line);
}

void check_names(const std::string& name) {
  const std::string folded = fold_nick(name);
  if (fold_nick(folded) != folded) fail("fold_nick is not idempotent", name);
  if (is_valid_nick(folded) != is_valid_nick(name)) fail("folding changes nick validity", name);
  if (is_valid_nick(name) && !is_valid_room(name)) fail("a valid nick that is no valid room", name);
}

bool has_non_finite(const json::value& value) {
  if (value.is_double()) return !std::isfinite(value.get_double());
  if (value.is_array())
    return std::any_of(value.get_array().begin(), value.get_array().end(), has_non_finite);
  if (value.is_object())
    return std::any_of(value.get_object().begin(), value.get_object().end(),
                       [](const json::key_value_pair& member) { return has_non_finite(member.value()); });
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const ParseResult result = parse_request(line);

  RequestId id;
  if (const auto* request = std::get_if<Request>(&result)) {
    id = request->id;
    if (const auto* hello = std::get_if<Hello>(&request->body); hello && hello->nick) check_names(*hello->nick);
    if (const auto* nick = std::get_if<ChangeNick>(&request->body)) check_names(nick->nick);
  } else {
    const auto& error = std::get<RequestError>(result);
    id = error.id;
    if (error.code == ErrorCode::bad_json && id) fail("bad_json with an id", std::string(line));
  }
  check_id(id);
  check_error_line(id);

  // The same JSON value, spelled the way Boost.JSON serializes it.
  boost::system::error_code ec;
  const json::value value = json::parse(line, ec);
  if (ec) {
    if (!std::holds_alternative<RequestError>(result) || std::get<RequestError>(result).code != ErrorCode::bad_json)
      fail("invalid JSON not reported as bad_json", std::string(line));
    return 0;
  }
  // Boost.JSON 1.81 parses a number too large for a double as infinity, and
  // zero with a huge exponent (0e400) as NaN; it serializes those as
  // `Infinity` and `NaN`, which are no JSON (boostorg/json#397). chatd never
  // echoes a double (ids are integers or strings), so such lines are not respelled.
  if (has_non_finite(value)) return 0;
  const std::string respelled = json::serialize(value);
  const ParseResult again = parse_request(respelled);
  if (describe(again) != describe(result))
    fail("a respelled line parses differently", describe(result) + " vs " + describe(again));
  return 0;
}
