// The types of the events and replies a server sends (the `type` of every
// server line), so that a client decides on an enum rather than a string.
#pragma once

#include <string_view>

#include <boost/json/object.hpp>

namespace corochat::protocol {

enum class EventType {
  unknown,  // a type protocol version 1 does not have, or no string `type` at all
  welcome,
  joined,
  left,
  nick,
  message,
  private_message,  // "private" on the wire
  who,
  rooms,
  history,
  ping,
  pong,
  error,
  bye,
};

// The wire name; "unknown" for EventType::unknown, which has none.
std::string_view to_string(EventType type);
EventType parse_event_type(std::string_view name);
// The type of a server line parsed as a JSON object.
EventType event_type_of(const boost::json::object& event);

}  // namespace corochat::protocol
