// Requests, client to server: their typed form and the parser that makes it.
//
// Parsing checks only what it can check without server state: JSON syntax,
// UTF-8, `type`, `id`, and the JSON types of the fields. Whatever depends on
// the server (registration, names in use, limits) is checked by the state
// machine, in the order the protocol gives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json/value.hpp>

#include "corochat/protocol/codes.hpp"

namespace corochat::protocol {

// A request's `id`: a string of at most 64 bytes or an integer, echoed unchanged.
using RequestId = std::optional<boost::json::value>;

struct Hello {
  // Each field is kept as sent (or absent) because the protocol checks them in
  // a fixed order: protocol, then password, then nick.
  bool protocol_ok = true;                  // `protocol` absent or the integer 1
  std::optional<std::string> password;      // absent or not a string: nullopt
  std::optional<std::string> nick;          // absent or not a string: nullopt
  std::optional<std::string> resume;
};
struct ChangeNick { std::string nick; };
struct Join { std::string room; };
struct Part { std::string room; };
// `action` ("/me waves"): an addition of chatd's, copied into the event.
struct Say { std::string room; std::string text; bool action = false; };
struct PrivateMessage { std::string to; std::string text; bool action = false; };
struct Who { std::optional<std::string> room; };
struct ListRooms {};
struct History {
  std::string room;
  std::optional<std::int64_t> limit;
  std::optional<std::int64_t> before;
  // An addition to version 1: only messages with a greater seq, oldest first.
  std::optional<std::int64_t> after;
};
struct Ping {};
struct Pong {};
struct Quit { std::optional<std::string> reason; };
// A known request whose fields are missing or of the wrong JSON type. It is
// answered with `bad_request`, but only after the registration check.
struct Malformed { std::string message; };

using RequestBody = std::variant<Hello, ChangeNick, Join, Part, Say, PrivateMessage, Who, ListRooms,
                                 History, Ping, Pong, Quit, Malformed>;

struct Request {
  RequestBody body;
  RequestId id;
};

// A line that is not a request at all: answered with an error at once.
struct RequestError {
  ErrorCode code;
  std::string message;
  RequestId id;
};

using ParseResult = std::variant<Request, RequestError>;

// Parses one framed line (without its '\n').
ParseResult parse_request(std::string_view line);

// Requests that are allowed before `hello`.
bool allowed_unregistered(const RequestBody& body);

}  // namespace corochat::protocol
