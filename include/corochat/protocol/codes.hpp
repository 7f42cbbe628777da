// The closed vocabularies of protocol version 1: error codes and the reasons
// carried by `left` and `bye`, with their wire names both ways.
//
// An ErrorCode converts to a boost::system::error_code of the "corochat"
// category, so a program compares the code of an `error` reply with
// `ec == protocol::ErrorCode::nick_taken`.
#pragma once

#include <optional>
#include <string_view>
#include <type_traits>

#include <boost/system/error_code.hpp>

namespace corochat::protocol {

inline constexpr int version = 1;

enum class ErrorCode {
  bad_json,
  bad_request,
  unknown_type,
  line_too_long,
  not_registered,
  already_registered,
  auth_failed,
  bad_nick,
  nick_taken,
  bad_room,
  not_in_room,
  already_joined,
  no_such_nick,
  text_too_long,
  rate_limited,
  too_many_rooms,
  server_full,
  // An addition to version 1: the server could not store a room message
  // (chatd's history store failed); it was not delivered to anyone.
  unavailable,
};

// Why a member left a room (`left.reason`).
enum class LeaveReason { part, quit, disconnect, timeout, slow_consumer, replaced, kicked };

// Why the server closes a connection on its own (`bye.reason`).
enum class ByeReason { quit, shutdown, timeout, auth_failed, server_full, replaced, registration_timeout };

// The wire names.
std::string_view to_string(ErrorCode code);
std::string_view to_string(LeaveReason reason);
std::string_view to_string(ByeReason reason);

// From the wire names; nullopt for a name protocol version 1 does not have.
std::optional<ErrorCode> parse_error_code(std::string_view name);
std::optional<LeaveReason> parse_leave_reason(std::string_view name);
std::optional<ByeReason> parse_bye_reason(std::string_view name);

// The "corochat" category: its values are the ErrorCodes, offset by one so
// that none of them is the zero that means success.
const boost::system::error_category& error_category();
boost::system::error_code make_error_code(ErrorCode code);
// The ErrorCode an error_code of the "corochat" category holds; nullopt for
// any other error_code.
std::optional<ErrorCode> to_error_code(const boost::system::error_code& ec);

}  // namespace corochat::protocol

template <>
struct boost::system::is_error_code_enum<corochat::protocol::ErrorCode> : std::true_type {};
