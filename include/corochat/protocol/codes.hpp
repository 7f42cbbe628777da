// The closed vocabularies of protocol version 1: error codes and the reasons
// carried by `left` and `bye`.
#pragma once

#include <string_view>

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
};

// Why a member left a room (`left.reason`).
enum class LeaveReason { part, quit, disconnect, timeout, slow_consumer, replaced, kicked };

// Why the server closes a connection on its own (`bye.reason`).
enum class ByeReason { quit, shutdown, timeout, auth_failed, server_full, replaced, registration_timeout };

std::string_view to_string(ErrorCode code);
std::string_view to_string(LeaveReason reason);
std::string_view to_string(ByeReason reason);

}  // namespace corochat::protocol
