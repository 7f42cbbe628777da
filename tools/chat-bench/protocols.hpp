// Protocol adapters: how one bench connection registers, joins the room,
// publishes and recognises deliveries, for each server the bench can drive.
// Pure framing — no sockets — so each adapter is unit-tested on bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace corochat::bench {

enum class ProtocolKind { corochat, irc, nats, redis, lines };

std::optional<ProtocolKind> protocol_from_name(std::string_view name);
std::string_view name_of(ProtocolKind kind);

// Peers that leave Nagle on are answered at once (TCP_QUICKACK) by default.
bool quickack_by_default(ProtocolKind kind);

enum class Role { subscriber, publisher };

// What the parser found in the received bytes, in order.
class Events {
 public:
  virtual ~Events() = default;
  virtual void registered() {}
  virtual void joined() {}
  // A published message: its payload and, for corochat, the room's seq (0: none).
  virtual void delivery(std::string_view /*payload*/, std::uint64_t /*room_seq*/) {}
  // Bytes the connection must send back (a PONG).
  virtual void reply(std::string_view /*bytes*/) {}
  // The server refused something (a nick in use, server full, ...).
  virtual void error(std::string_view /*what*/) {}
};

class Protocol {
 public:
  virtual ~Protocol() = default;
  // Sent as soon as the connection is up.
  virtual std::string greeting() const = 0;
  // Joins the room (or, for a publisher that needs no membership, checks that
  // the connection is ready). Sent with the greeting unless the protocol must
  // see the registration answered first.
  virtual std::string join() const = 0;
  virtual bool join_waits_for_registration() const { return false; }
  // No answer confirms the join: the connection is ready once it is written.
  virtual bool join_is_silent() const { return false; }
  // Appends the frame that publishes `payload` to the room.
  virtual void append_publish(std::string& out, std::string_view payload) const = 0;
  // Handles every complete frame at the start of `data`; returns the bytes
  // used. A partial frame at the end is left for the next call.
  virtual std::size_t parse(std::string_view data, Events& events) = 0;
};

// `room` is a plain name ("bench", "r12"); each adapter spells it its own way.
// `irc_oper` ("NAME:PASSWORD", IRC publishers only): become an operator and
// set user mode +F, which lifts ngIRCd's flood throttling.
std::unique_ptr<Protocol> make_protocol(ProtocolKind kind, std::string nick, std::string room, Role role,
                                        std::string irc_oper = {});

}  // namespace corochat::bench
