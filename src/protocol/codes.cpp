#include "corochat/protocol/codes.hpp"

#include <array>
#include <string>

namespace corochat::protocol {
namespace {

constexpr std::array all_error_codes{
    ErrorCode::bad_json,       ErrorCode::bad_request,    ErrorCode::unknown_type,   ErrorCode::line_too_long,
    ErrorCode::not_registered, ErrorCode::already_registered, ErrorCode::auth_failed, ErrorCode::bad_nick,
    ErrorCode::nick_taken,     ErrorCode::bad_room,       ErrorCode::not_in_room,    ErrorCode::already_joined,
    ErrorCode::no_such_nick,   ErrorCode::text_too_long,  ErrorCode::rate_limited,   ErrorCode::too_many_rooms,
    ErrorCode::server_full,    ErrorCode::unavailable,
};
constexpr std::array all_leave_reasons{LeaveReason::part,      LeaveReason::quit,          LeaveReason::disconnect,
                                       LeaveReason::timeout,   LeaveReason::slow_consumer, LeaveReason::replaced,
                                       LeaveReason::kicked};
constexpr std::array all_bye_reasons{ByeReason::quit,        ByeReason::shutdown, ByeReason::timeout,
                                     ByeReason::auth_failed, ByeReason::server_full, ByeReason::replaced,
                                     ByeReason::registration_timeout};

// Vocabularies are small: a scan costs less than building a map.
template <class Enum, std::size_t N>
std::optional<Enum> find_name(const std::array<Enum, N>& values, std::string_view name) {
  for (Enum value : values)
    if (to_string(value) == name) return value;
  return std::nullopt;
}

std::string_view describe(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_json: return "the line is not a JSON object in valid UTF-8";
    case ErrorCode::bad_request: return "the request is malformed";
    case ErrorCode::unknown_type: return "the server does not know this request type";
    case ErrorCode::line_too_long: return "the line is longer than the server accepts";
    case ErrorCode::not_registered: return "hello must come first";
    case ErrorCode::already_registered: return "the connection is registered already";
    case ErrorCode::auth_failed: return "wrong or missing password";
    case ErrorCode::bad_nick: return "the nick is not a valid name";
    case ErrorCode::nick_taken: return "the nick is in use";
    case ErrorCode::bad_room: return "the room is not a valid name";
    case ErrorCode::not_in_room: return "not a member of the room";
    case ErrorCode::already_joined: return "already a member of the room";
    case ErrorCode::no_such_nick: return "nobody uses that nick";
    case ErrorCode::text_too_long: return "the text is longer than the server accepts";
    case ErrorCode::rate_limited: return "too many requests: dropped by the flood limit";
    case ErrorCode::too_many_rooms: return "too many rooms";
    case ErrorCode::server_full: return "the server is full";
    case ErrorCode::unavailable: return "the server could not store the message; it was not delivered";
  }
  return "unknown corochat error";
}

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "corochat"; }
  std::string message(int value) const override {
    if (value < 1 || value > static_cast<int>(all_error_codes.size())) return "unknown corochat error";
    return std::string(describe(static_cast<ErrorCode>(value - 1)));
  }
};

}  // namespace

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_json: return "bad_json";
    case ErrorCode::bad_request: return "bad_request";
    case ErrorCode::unknown_type: return "unknown_type";
    case ErrorCode::line_too_long: return "line_too_long";
    case ErrorCode::not_registered: return "not_registered";
    case ErrorCode::already_registered: return "already_registered";
    case ErrorCode::auth_failed: return "auth_failed";
    case ErrorCode::bad_nick: return "bad_nick";
    case ErrorCode::nick_taken: return "nick_taken";
    case ErrorCode::bad_room: return "bad_room";
    case ErrorCode::not_in_room: return "not_in_room";
    case ErrorCode::already_joined: return "already_joined";
    case ErrorCode::no_such_nick: return "no_such_nick";
    case ErrorCode::text_too_long: return "text_too_long";
    case ErrorCode::rate_limited: return "rate_limited";
    case ErrorCode::too_many_rooms: return "too_many_rooms";
    case ErrorCode::server_full: return "server_full";
    case ErrorCode::unavailable: return "unavailable";
  }
  return "unknown";
}

std::string_view to_string(LeaveReason reason) {
  switch (reason) {
    case LeaveReason::part: return "part";
    case LeaveReason::quit: return "quit";
    case LeaveReason::disconnect: return "disconnect";
    case LeaveReason::timeout: return "timeout";
    case LeaveReason::slow_consumer: return "slow_consumer";
    case LeaveReason::replaced: return "replaced";
    case LeaveReason::kicked: return "kicked";
  }
  return "unknown";
}

std::string_view to_string(ByeReason reason) {
  switch (reason) {
    case ByeReason::quit: return "quit";
    case ByeReason::shutdown: return "shutdown";
    case ByeReason::timeout: return "timeout";
    case ByeReason::auth_failed: return "auth_failed";
    case ByeReason::server_full: return "server_full";
    case ByeReason::replaced: return "replaced";
    case ByeReason::registration_timeout: return "registration_timeout";
  }
  return "unknown";
}

std::optional<ErrorCode> parse_error_code(std::string_view name) { return find_name(all_error_codes, name); }
std::optional<LeaveReason> parse_leave_reason(std::string_view name) { return find_name(all_leave_reasons, name); }
std::optional<ByeReason> parse_bye_reason(std::string_view name) { return find_name(all_bye_reasons, name); }

const boost::system::error_category& error_category() {
  static const Category category;
  return category;
}

boost::system::error_code make_error_code(ErrorCode code) {
  return {static_cast<int>(code) + 1, error_category()};
}

std::optional<ErrorCode> to_error_code(const boost::system::error_code& ec) {
  if (ec.category() != error_category()) return std::nullopt;
  if (ec.value() < 1 || ec.value() > static_cast<int>(all_error_codes.size())) return std::nullopt;
  return static_cast<ErrorCode>(ec.value() - 1);
}

}  // namespace corochat::protocol
