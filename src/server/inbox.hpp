// What sessions tell the broadcaster: the one channel every session writes to
// and the broadcaster alone reads.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/experimental/channel.hpp>

#include "corochat/protocol/request.hpp"
#include "server/chat_state.hpp"

namespace corochat::server {

// The broadcaster's handle on one connection; the connection behind it owns
// the socket, the outgoing queue and the reader and writer that use them.
class Connection {
 public:
  virtual ~Connection() = default;
  // Queues a line without writing it. False when the queue would pass its
  // bound: a slow consumer.
  virtual bool deliver(const SharedLine& line) = 0;
  // Starts writing what deliver() queued. The broadcaster calls it once per
  // connection after a run of inbox messages, so that the lines of many
  // requests leave in one write (like Redis's write-before-sleep).
  virtual void flush() = 0;
  // Flush what is queued, then close (bounded by the close grace).
  virtual void close_after_flush() = 0;
  // Close now and drop what is queued.
  virtual void abort() = 0;
  // Room in the outgoing queue for the replies to more requests: it is at
  // most half full. The broadcaster stops executing a connection's batch when
  // there is none, so that a client asking for many large replies at once
  // (history of every room after a reconnect) is never cut off by them.
  // `promised`: bytes of replies owed that are not queued yet...
  virtual bool has_room_for_replies(std::size_t promised) const = 0;
  // ...and asks to be told (Inbound::Kind::room_for_replies) once there is.
  virtual void tell_when_room_for_replies() = 0;
  // The broadcaster has handled the connection's last batch of lines: its
  // reader may read on. One batch in flight per connection keeps a flooding
  // client from filling the inbox ahead of everyone else.
  virtual void lines_handled() = 0;
  virtual const std::string& peer() const = 0;
};

struct Inbound {
  enum class Kind {
    opened,                 // a new connection (`connection` set)
    lines,                  // requests and rejected lines, in the order received
    room_for_replies,       // the queue has drained: the held rest of a batch may go on
    input_ended,            // end of input or a read error (`detail` says which)
    closed,                 // the socket is closed and the session done
    idle,                   // silent for the idle time
    timed_out,              // ...and silent for the grace period after the ping: closed with bye timeout
    registration_deadline,  // the registration time is up
    shutdown,               // SIGINT or SIGTERM
    settings,               // SIGHUP: the state's live settings (`settings` set)
  };
  Kind kind;
  ClientId client = 0;
  std::shared_ptr<Connection> connection;
  std::vector<protocol::ParseResult> items;
  std::string detail;
  Network network{};  // opened: the peer's admission group, for per-network limits
  // settings: the MOTD, password and advertised limits to serve from now on.
  std::shared_ptr<const StateConfig> settings{};
};

using Inbox = boost::asio::experimental::channel<void(boost::system::error_code, Inbound)>;

// Tells the broadcaster one message, waiting while the inbox is full. The
// token says how the sender goes on: a completion handler
// (`[](boost::system::error_code) {...}`) or, in a coroutine, `use_tuple`.
// The message is built by the caller in its own statement: GCC 12 mishandles
// braced temporaries inside a co_await expression (they get copied bitwise).
template <class CompletionToken>
auto tell(Inbox& inbox, Inbound message, CompletionToken&& token) {
  return inbox.async_send(boost::system::error_code(), std::move(message), std::forward<CompletionToken>(token));
}

}  // namespace corochat::server
