// Events and replies, server to client, and the serialized line they travel as.
//
// An event is built once as a JSON object and serialized once into a
// SharedLine that every recipient's queue (and a room's history) shares. The
// requester's copy, which carries its `id`, is the one other serialization.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "corochat/protocol/codes.hpp"
#include "corochat/protocol/framer.hpp"
#include "corochat/protocol/request.hpp"

namespace corochat::protocol {

// One serialized line, '\n' included, immutable and shared.
using SharedLine = std::shared_ptr<const std::string>;

// Milliseconds since the Unix epoch, stamped by the server.
using Timestamp = std::int64_t;

// The limits a server advertises in `welcome.limits`. chatd fills them from
// its configuration (server::advertised_limits); these defaults are what its
// default configuration advertises.
struct AdvertisedLimits {
  std::int64_t max_line = static_cast<std::int64_t>(default_max_line);
  std::int64_t max_text = 4096;
  std::int64_t rate = 10;
  std::int64_t burst = 20;
  std::int64_t history = 100;
  std::int64_t idle = 120;
  std::int64_t max_rooms_per_client = 50;

  bool operator==(const AdvertisedLimits&) const = default;
};

struct WelcomeInfo {
  std::string_view nick;
  std::string_view server;
  std::string_view epoch;
  std::string_view token;
  std::span<const std::string> rooms;
  const AdvertisedLimits& limits;
  std::string_view motd;  // empty: no motd field
};

namespace event {
boost::json::object welcome(const WelcomeInfo& info);
boost::json::object joined(std::string_view room, std::string_view nick, Timestamp ts);
boost::json::object left(std::string_view room, std::string_view nick, LeaveReason reason, Timestamp ts);
boost::json::object nick(std::string_view old_nick, std::string_view new_nick, Timestamp ts);
// `action` true adds "action": true; false leaves the field out, so the
// events of a plain say or msg are exactly the contract's.
boost::json::object message(std::string_view room, std::string_view from, std::string_view text,
                            Timestamp ts, std::uint64_t seq, bool action = false);
boost::json::object private_message(std::string_view from, std::string_view to, std::string_view text,
                                    Timestamp ts, bool action = false);
boost::json::object who(const std::string* room, const std::vector<std::string>& members);
boost::json::object rooms(const std::vector<std::pair<std::string, std::size_t>>& rooms);
boost::json::object pong();
boost::json::object ping();
boost::json::object bye(ByeReason reason);
boost::json::object error(ErrorCode code, std::string_view message);
}  // namespace event

// Serializes an event as one line, with the request's id added if it has one.
SharedLine serialize_line(const boost::json::object& event, const RequestId& id = std::nullopt);

// A `history` reply built from stored message lines (each exactly as the
// room's members received it), spliced without parsing them again.
SharedLine history_line(std::string_view room, std::span<const SharedLine> messages, const RequestId& id);

// The error reply for a line that never became a request.
SharedLine error_line(ErrorCode code, std::string_view message, const RequestId& id);

}  // namespace corochat::protocol
