#include "corochat/protocol/event_type.hpp"

#include <array>

#include <boost/json/value.hpp>

namespace corochat::protocol {
namespace {

constexpr std::array all_event_types{
    EventType::welcome, EventType::joined, EventType::left, EventType::nick,  EventType::message,
    EventType::private_message, EventType::who, EventType::rooms, EventType::history, EventType::ping,
    EventType::pong, EventType::error, EventType::bye,
};

}  // namespace

std::string_view to_string(EventType type) {
  switch (type) {
    case EventType::unknown: return "unknown";
    case EventType::welcome: return "welcome";
    case EventType::joined: return "joined";
    case EventType::left: return "left";
    case EventType::nick: return "nick";
    case EventType::message: return "message";
    case EventType::private_message: return "private";
    case EventType::who: return "who";
    case EventType::rooms: return "rooms";
    case EventType::history: return "history";
    case EventType::ping: return "ping";
    case EventType::pong: return "pong";
    case EventType::error: return "error";
    case EventType::bye: return "bye";
  }
  return "unknown";
}

EventType parse_event_type(std::string_view name) {
  for (EventType type : all_event_types)
    if (to_string(type) == name) return type;
  return EventType::unknown;
}

EventType event_type_of(const boost::json::object& event) {
  const boost::json::value* type = event.if_contains("type");
  return type && type->is_string() ? parse_event_type(type->get_string()) : EventType::unknown;
}

}  // namespace corochat::protocol
