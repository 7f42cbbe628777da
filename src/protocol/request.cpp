#include "corochat/protocol/request.hpp"

#include <limits>

#include <boost/json/parse.hpp>

#include "corochat/protocol/names.hpp"

namespace corochat::protocol {
namespace json = boost::json;
namespace {

// The request's id if it has a valid one; `valid` false for an id of another form.
RequestId read_id(const json::object& obj, bool& valid) {
  valid = true;
  const json::value* id = obj.if_contains("id");
  if (!id) return std::nullopt;
  if (id->is_int64() || id->is_uint64()) return *id;
  if (id->is_string() && id->get_string().size() <= max_id_bytes) return *id;
  valid = false;
  return std::nullopt;
}

// Field readers. Each returns false when the field is present but of the wrong
// type, or missing where required.
bool read_string(const json::object& obj, std::string_view key, std::string& out) {
  const json::value* v = obj.if_contains(key);
  if (!v || !v->is_string()) return false;
  out.assign(v->get_string().data(), v->get_string().size());
  return true;
}

bool read_optional_string(const json::object& obj, std::string_view key,
                          std::optional<std::string>& out) {
  const json::value* v = obj.if_contains(key);
  if (!v || v->is_null()) return true;
  if (!v->is_string()) return false;
  out.emplace(v->get_string().data(), v->get_string().size());
  return true;
}

bool read_optional_integer(const json::object& obj, std::string_view key,
                           std::optional<std::int64_t>& out) {
  const json::value* v = obj.if_contains(key);
  if (!v || v->is_null()) return true;
  if (v->is_int64()) {
    out = v->get_int64();
    return true;
  }
  if (v->is_uint64()) {  // beyond int64: as large as we can say
    out = std::numeric_limits<std::int64_t>::max();
    return true;
  }
  return false;
}

bool read_optional_bool(const json::object& obj, std::string_view key, bool& out) {
  const json::value* v = obj.if_contains(key);
  if (!v) return true;
  if (!v->is_bool()) return false;
  out = v->get_bool();
  return true;
}

Malformed missing(std::string_view what) {
  return Malformed{std::string(what) + " is missing or not of the right type"};
}

RequestBody parse_hello(const json::object& obj) {
  Hello hello;
  if (const json::value* p = obj.if_contains("protocol"))
    hello.protocol_ok = (p->is_int64() && p->get_int64() == version) ||
                        (p->is_uint64() && p->get_uint64() == static_cast<std::uint64_t>(version));
  read_optional_string(obj, "password", hello.password);
  read_optional_string(obj, "nick", hello.nick);
  if (!read_optional_string(obj, "resume", hello.resume)) hello.resume.reset();
  return hello;
}

RequestBody parse_body(std::string_view type, const json::object& obj, bool& known) {
  known = true;
  if (type == "hello") return parse_hello(obj);
  if (type == "nick") {
    ChangeNick r;
    if (!read_string(obj, "nick", r.nick)) return missing("nick");
    return r;
  }
  if (type == "join" || type == "part") {
    std::string room;
    if (!read_string(obj, "room", room)) return missing("room");
    if (type == "join") return Join{std::move(room)};
    return Part{std::move(room)};
  }
  if (type == "say") {
    Say r;
    if (!read_string(obj, "room", r.room)) return missing("room");
    if (!read_string(obj, "text", r.text)) return missing("text");
    if (!read_optional_bool(obj, "action", r.action)) return Malformed{"action must be true or false"};
    return r;
  }
  if (type == "msg") {
    PrivateMessage r;
    if (!read_string(obj, "to", r.to)) return missing("to");
    if (!read_string(obj, "text", r.text)) return missing("text");
    if (!read_optional_bool(obj, "action", r.action)) return Malformed{"action must be true or false"};
    return r;
  }
  if (type == "who") {
    Who r;
    if (!read_optional_string(obj, "room", r.room)) return missing("room");
    return r;
  }
  if (type == "rooms") return ListRooms{};
  if (type == "history") {
    History r;
    if (!read_string(obj, "room", r.room)) return missing("room");
    if (!read_optional_integer(obj, "limit", r.limit)) return missing("limit");
    if (!read_optional_integer(obj, "before", r.before)) return missing("before");
    if (!read_optional_integer(obj, "after", r.after)) return missing("after");
    return r;
  }
  if (type == "ping") return Ping{};
  if (type == "pong") return Pong{};
  if (type == "quit") {
    Quit r;
    if (!read_optional_string(obj, "reason", r.reason)) r.reason.reset();
    return r;
  }
  known = false;
  return Malformed{};
}

}  // namespace

ParseResult parse_request(std::string_view line) {
  boost::system::error_code ec;
  // Boost.JSON rejects invalid UTF-8 inside strings, so both cases land here.
  json::value value = json::parse(line, ec);
  if (ec) return RequestError{ErrorCode::bad_json, "not valid JSON or not UTF-8", std::nullopt};
  if (!value.is_object()) return RequestError{ErrorCode::bad_json, "a request must be a JSON object", std::nullopt};
  const json::object& obj = value.get_object();

  bool id_valid = true;
  RequestId id = read_id(obj, id_valid);
  if (!id_valid)
    return RequestError{ErrorCode::bad_request, "id must be a string of at most 64 bytes or an integer",
                        std::nullopt};

  const json::value* type = obj.if_contains("type");
  if (!type || !type->is_string())
    return RequestError{ErrorCode::bad_request, "type is missing or not a string", std::move(id)};

  const std::string_view type_name = type->get_string();
  bool known = false;
  RequestBody body = parse_body(type_name, obj, known);
  if (!known)
    return RequestError{ErrorCode::unknown_type, "unknown request type " + std::string(type_name),
                        std::move(id)};
  return Request{std::move(body), std::move(id)};
}

bool allowed_unregistered(const RequestBody& body) {
  return std::holds_alternative<Hello>(body) || std::holds_alternative<Ping>(body) ||
         std::holds_alternative<Pong>(body) || std::holds_alternative<Quit>(body);
}

}  // namespace corochat::protocol
