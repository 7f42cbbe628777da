// The chat server's state machine: connections, nicks, rooms, per-room seq and
// history. Pure: no sockets, no clocks, no threads. The broadcaster feeds it
// one input at a time and carries out the Effects it returns, in order.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "corochat/protocol/events.hpp"
#include "corochat/protocol/request.hpp"
#include "server/rate_limiter.hpp"

namespace corochat::server {

using ClientId = std::uint64_t;
// The network a connection comes from: its admission group (an IPv4 address,
// or an IPv6 prefix, as Admission::Key), which per-network limits count by.
using Network = std::array<std::uint8_t, 16>;
using protocol::SharedLine;
using protocol::Timestamp;

// What the state machine enforces. Every field is a setting of chatd's
// (server::ServerConfig::state, where the command line and its ranges are);
// the defaults below are chatd's defaults.
struct StateConfig {
  // Announced in welcome.server; chatd sets "chatd/<version>".
  std::string server_name = "chatd/0.1.0";
  // Announced in welcome.epoch: chatd draws a random one at start, so a
  // client can tell that a restarted server's seqs began again.
  std::string epoch = "0";
  // The room every client joins on hello; empty: none. Always kept, even
  // when empty, and outside max_rooms and max_rooms_per_network.
  std::string default_room = "lobby";
  // Longest say/msg text, in bytes (text_too_long past it).
  std::size_t max_text = 4096;
  // Messages kept per room, for history and resume.
  std::size_t history = 100;
  // Rooms kept, with members or history; past it a join of a new room gets
  // too_many_rooms.
  std::size_t max_rooms = 1000;
  // Rooms one connection may be in at once.
  std::size_t max_rooms_per_client = 50;
  // Rooms in which one network has members; 0: no limit. Without it a few
  // addresses can fill all max_rooms with members.
  std::size_t max_rooms_per_network = 100;
  // Open connections; the next gets server_full. chatd's listener enforces
  // it (with the descriptor limit) and gives the state machine SIZE_MAX.
  std::size_t max_clients = 10000;
  // Bytes of one history reply, a line's '\n' included: older messages are
  // left out past it, so that asking for history never overflows the asker's
  // own outgoing queue. chatd derives it from the queue: reply_byte_cap().
  std::size_t max_reply_bytes = 256 * 1024;
  // Bytes of `history`, `who` and `rooms` replies a connection may draw: on
  // average reply_rate a second, reply_burst at once (a client catching up on
  // all its rooms after a reconnect). Past it those requests get
  // `rate_limited`; one request's reply may go past what is left. 0: no limit.
  double reply_rate = 256 * 1024;
  double reply_burst = 2 * 1024 * 1024;
  // Seqs of forgotten rooms remembered, so a re-created room continues its
  // numbering; past this many, they are dropped and the epoch changes.
  std::size_t remembered_rooms = 10000;
  // Required in hello when set (auth_failed, then bye, otherwise).
  std::optional<std::string> password;
  // Sent in welcome when not empty.
  std::string motd;
  // With a store: how long after start-up the nicks of the connections open
  // at the last stop stay reserved for their resume token (a server upgrade
  // costs users a reconnect, not their nick), and how long a stored token
  // lives.
  Timestamp resume_grace_ms = 60'000;
  Timestamp token_lifetime_ms = 30LL * 24 * 3600 * 1000;
  // What welcome advertises: chatd derives it from its whole configuration
  // (advertised_limits()), since the connection limits are not the state's.
  protocol::AdvertisedLimits limits;

  bool operator==(const StateConfig&) const = default;
};

// One line for a list of recipients: the line is shared, never copied.
struct Delivery {
  SharedLine line;
  std::vector<ClientId> to;
  // A join or leave told to the other members: it may wait a few
  // milliseconds to share a write with the next ones. A room filling up (or
  // everyone reconnecting after a restart) then costs a write per member per
  // few joins, not per join.
  bool presence = false;
};

// A connection the server closes on its own, after flushing what it was sent.
struct Closing {
  ClientId client;
  protocol::ByeReason reason;
};

// With a history store (ChatState::use_store), a room message accepted from
// `from`: it gets its seq when handed to the store (number()) and is
// delivered only once stored (committed()), or refused (failed()).
struct PendingMessage {
  ClientId from = 0;
  protocol::RequestId id;
  std::string room;
  std::string nick;
  std::string text;
  bool action = false;
  Timestamp ts = 0;
};

// A pending message with its seq and its line as members will receive it.
struct NumberedMessage {
  PendingMessage message;
  std::uint64_t seq = 0;
  SharedLine line;
};

// A `history` request the room's in-memory window does not cover: the store
// answers it (seq bounds exclusive; the page is the newest `limit` below
// `before`, or with `after` the oldest above it). history_reply() makes the
// reply.
struct HistoryRead {
  ClientId from = 0;
  protocol::RequestId id;
  std::string room;
  std::optional<std::uint64_t> before;
  std::optional<std::uint64_t> after;
  std::size_t limit = 0;
  std::size_t max_bytes = 0;
};

// With a store: a resume token to keep (nick set) or to forget.
struct TokenChange {
  std::string token;
  std::string nick;  // empty: forget it
  Timestamp expires = 0;
};

struct Effects {
  std::vector<Delivery> deliveries;  // in order
  std::vector<Closing> closes;       // after the deliveries
  std::vector<TokenChange> tokens;   // with a store only
  // With a store only: messages to number, store, then deliver...
  std::vector<PendingMessage> messages;
  // ...and a history read for the store. Either way the requester's further
  // requests wait for the outcome, so that its replies keep their order.
  std::optional<HistoryRead> history_read;
};

class ChatState {
 public:
  using TokenSource = std::function<std::string()>;

  ChatState(StateConfig config, TokenSource make_token);

  // A new connection from `network`. Past max_clients, counting `closing`
  // connections that are still open but no longer in the state: server_full,
  // then close.
  Effects connect(ClientId client, std::size_t closing = 0, const Network& network = {});
  // One request from a connection, in the order the connection sent it.
  Effects handle(ClientId client, const protocol::Request& request, Timestamp now);
  // A line that failed framing, parsing or the flood limit: the error, in its place.
  Effects reject(ClientId client, const protocol::RequestError& error);
  // The connection is gone (closed, reset, too slow): its rooms hear `left`.
  Effects disconnect(ClientId client, protocol::LeaveReason reason, Timestamp now);
  // Keep-alive: the connection was silent for the idle time.
  Effects idle(ClientId client);
  // ...and silent for the grace period after the ping.
  Effects timed_out(ClientId client, Timestamp now);
  // The registration deadline passed: close it if it has not said hello.
  Effects registration_expired(ClientId client);
  // Server shutdown: `bye shutdown` to every connection, no `left` events.
  Effects shutdown();
  // On reload: the MOTD, the password and the limits welcome advertises,
  // from `next`, for the clients that say hello from now on. The rest of the
  // configuration is read at start only.
  void take_live_settings(const StateConfig& next);

  // Rooms' messages go through a history store from now on: `epoch` is the
  // store's, and each room listed continues from its stored seq (rooms are
  // not loaded; their history windows fill as messages arrive). A `say`
  // then yields a PendingMessage instead of deliveries, and `history` beyond
  // a room's window a HistoryRead.
  void use_store(std::string epoch, const std::vector<std::pair<std::string, std::uint64_t>>& room_seqs);
  // The nicks of the connections open when the server last stopped, each
  // with its token's hash: for resume_grace_ms from `now`, a hello for one of
  // them needs its token in `resume` (else nick_taken), and nobody else may
  // rename to it. `hash` turns a token into such a hash.
  struct Reserved {
    std::string nick;
    std::string token_hash;
  };
  using TokenHash = std::function<std::string(std::string_view)>;
  void reserve_nicks(const std::vector<Reserved>& reserved, Timestamp now, TokenHash hash);
  // Gives a pending message the next seq of its room, as it is handed to the
  // store; nothing when the room cannot be kept (max_rooms, all in use).
  std::optional<NumberedMessage> number(const PendingMessage& message);
  // The store committed it: into the room's window, and to its members (the
  // sender's copy with the request's id).
  Effects committed(const NumberedMessage& message);
  // The store did not: its seq is given back (the room's next message takes
  // it, so members never see a gap), and the sender gets `unavailable`.
  Effects failed(const NumberedMessage& message);
  Effects failed(const PendingMessage& message);
  // The store could not answer a request of `from`'s: `unavailable`.
  Effects unavailable(ClientId from, const protocol::RequestId& id, std::string_view what);
  // The reply to a HistoryRead, from what the store returned (oldest first).
  Effects history_reply(const HistoryRead& read, const std::vector<SharedLine>& lines, Timestamp now);

  // Read-only views, for tests and diagnostics.
  std::size_t connection_count() const { return clients_.size(); }
  // The epoch welcome announces: changes when a room's seq may restart.
  const std::string& epoch() const { return epoch_; }
  std::size_t room_count() const { return rooms_.size(); }
  // Connections that said hello and hold a nick.
  std::size_t registered_count() const { return by_nick_.size(); }
  // What /metrics counts from here since the start.
  struct Counts {
    std::uint64_t room_messages = 0;     // sequenced and sent (with a store: committed)
    std::uint64_t private_messages = 0;  // sent to another nick, or to oneself
    std::uint64_t reply_limited = 0;     // history, who and rooms refused with rate_limited
  };
  const Counts& counts() const { return counts_; }
  bool is_registered(ClientId client) const;
  std::optional<std::string> nick_of(ClientId client) const;
  std::optional<std::uint64_t> room_seq(std::string_view room) const;
  std::vector<std::string> rooms_of(ClientId client) const;
  // Checks the state's own consistency and limits: nicks unique and indexed,
  // members and rooms listing each other, history, room, per-client and
  // per-network room counts within the configured limits and the per-network
  // counts matching the members, forgotten rooms really gone. Returns
  // the first violation found, or nothing. Costs O(clients x rooms per client
  // + members): for tests and fuzzing, not for every request of a server.
  std::optional<std::string> check_invariants() const;

 private:
  struct Client {
    bool registered = false;
    std::string nick;
    std::string token;  // for hello.resume
    std::vector<std::string> rooms;
    RateLimiter replies{0, 1, {}};  // the reply budget, set at registration
    Network network{};
  };
  struct Room {
    std::vector<ClientId> members;
    std::uint64_t seq = 0;             // of the latest message (with a store: numbered, maybe not yet stored)
    std::uint64_t committed = 0;       // of the latest message delivered (without a store: seq)
    std::deque<SharedLine> history;    // latest messages, seqs committed-size+1 .. committed
    std::uint64_t last_activity = 0;   // orders empty rooms for eviction
  };
  using RoomMap = std::map<std::string, Room, std::less<>>;
  struct NetworkHash {
    std::size_t operator()(const Network& network) const noexcept;
  };
  // One network's rooms (the default room aside), each with how many of the
  // network's connections are in it.
  using NetworkRooms = std::unordered_map<std::string, std::size_t>;

  struct Context;  // one request being handled
  void on(Context&, const protocol::Hello&);
  void on(Context&, const protocol::ChangeNick&);
  void on(Context&, const protocol::Join&);
  void on(Context&, const protocol::Part&);
  void on(Context&, const protocol::Say&);
  void on(Context&, const protocol::PrivateMessage&);
  void on(Context&, const protocol::Who&);
  void on(Context&, const protocol::ListRooms&);
  void on(Context&, const protocol::History&);
  void on(Context&, const protocol::Ping&);
  void on(Context&, const protocol::Pong&);
  void on(Context&, const protocol::Quit&);
  void on(Context&, const protocol::Malformed&);

  // Room bookkeeping.
  bool is_default_room(std::string_view name) const;
  std::size_t counted_rooms() const;  // what max_rooms bounds: the default room aside
  bool network_may_join(const Client&, const std::string& room) const;
  RoomMap::iterator find_or_create_room(std::string_view name);  // end() when max_rooms is reached
  void forget_room(RoomMap::iterator room);
  void add_member(Effects&, ClientId, Client&, RoomMap::iterator, Timestamp, const protocol::RequestId&);
  void remove_member(ClientId, Client&, RoomMap::iterator);
  // Removes a connection from every room and index; room-mates hear `left`.
  void drop_client(Effects&, ClientId, protocol::LeaveReason, Timestamp);
  bool text_ok(Context&, std::string_view text);
  // A large reply may be sent: the requester's reply budget is not in debt.
  bool reply_budget_ok(Context&);
  // Charges the reply just added to the requester's budget.
  void charge_reply(Context&);

  StateConfig config_;
  TokenSource make_token_;
  std::unordered_map<ClientId, Client> clients_;
  std::unordered_map<std::string, ClientId> by_nick_;  // folded nick -> owner
  RoomMap rooms_;
  std::unordered_map<Network, NetworkRooms, NetworkHash> network_rooms_;  // networks with members somewhere
  std::uint64_t activity_clock_ = 0;
  std::unordered_map<std::string, std::uint64_t> forgotten_seq_;  // room -> its last seq
  std::string epoch_;
  std::uint64_t epoch_generation_ = 0;
  // Messages go through a store, which also keeps every room's seq: forgotten
  // rooms' seqs are never dropped (a room restarting at 1 could not store).
  bool stored_ = false;
  // Folded nick -> token hash, while reserved_until_ has not passed.
  std::unordered_map<std::string, std::string> reserved_;
  Timestamp reserved_until_ = 0;
  TokenHash token_hash_;
  Counts counts_;
};

}  // namespace corochat::server
