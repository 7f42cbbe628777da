// The broadcaster: the one coroutine that owns the chat state. It takes what
// sessions send through the inbox, one item at a time, applies it to the state
// machine and hands the resulting lines to the sessions' queues.
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/chat_state.hpp"
#include "server/inbox.hpp"
#include "server/metrics/counters.hpp"
#include "server/store/history_store.hpp"

namespace corochat::server {

class Broadcaster {
 public:
  // What stamps `ts` on events: milliseconds since the Unix epoch.
  using WallClock = std::function<Timestamp()>;
  static Timestamp system_time();

  // max_clients is the listener's to enforce (Admission), before a connection
  // reaches the broadcaster: give this one a config without it.
  Broadcaster(Inbox& inbox, StateConfig config, WallClock now = system_time);
  // With a history store: the epoch and rooms' seqs come from it, and a room
  // message is delivered (its sender's echo included) only once the store has
  // committed it. The messages of one round go in one append, with at most
  // one append under way: those of the rounds meanwhile share the next one
  // (group commit). A sender's further messages go on into the same or the
  // next append; anything else it asks waits for the outcome of its messages
  // so that replies keep their order. A failed message gets `unavailable`
  // and gives its seq back. `history` beyond a room's in-memory window is
  // read from the store. The store must outlive the broadcaster's work.
  Broadcaster(Inbox& inbox, StateConfig config, store::HistoryStore& store, WallClock now = system_time);

  // Runs until shutdown has closed every connection.
  boost::asio::awaitable<void> run();

  // How long a join or leave told to the other members may wait for company.
  static constexpr std::chrono::milliseconds presence_delay{5};

  struct Stats {
    std::size_t connections;  // open sockets, closing ones included
    std::size_t clients;      // connections in the chat state
    std::size_t rooms;
  };
  Stats stats() const { return {connections_.size(), state_.connection_count(), state_.room_count()}; }

  // For /metrics: the broadcaster's own counters and the state machine's.
  const metrics::BroadcastCounters& counters() const { return counters_; }
  const ChatState::Counts& state_counts() const { return state_.counts(); }
  std::size_t registered_clients() const { return state_.registered_count(); }

 private:
  // A connection and the broadcaster's bookkeeping of it. Entries stay where
  // the map put them (it is node-based), so the lists to flush point at them.
  // One per connection, so kept to 24 bytes (the [memory] test counts it):
  // the narrow counts are bounded by max_uncommitted, and what is rare lives
  // in side maps (held_, ended_inputs_).
  struct Entry {
    std::shared_ptr<Connection> connection;
    std::uint32_t uncommitted_bytes = 0;  // about the size of the echoes still owed to it
    std::uint16_t uncommitted = 0;        // its messages handed to the store, outcome not known
    bool flush_listed = false;            // in to_flush_
    bool presence_listed = false;         // in presence_to_flush_
  };
  static_assert(sizeof(Entry) <= 24);
  using Connections = std::unordered_map<ClientId, Entry>;

  void on(Inbound& in);
  void execute(ClientId id, std::vector<protocol::ParseResult> items, std::size_t next);
  // Applies a request's effects, handing its messages and history read to
  // the store; true when the sender must wait for the store's answer.
  bool take(Entry& entry, Effects effects);
  void apply(Effects effects);
  Effects handle(ClientId id, const protocol::Request& request);
  void log_nick_change(ClientId id, const protocol::Request& request, const std::optional<std::string>& before);
  void list_to_flush(Entry& entry, bool presence);
  void flush_delivered();
  void flush_presence();
  void forget(Connections::iterator it);
  // The store's side: hands the waiting messages over, takes the outcome.
  void store_waiting();
  void on_appended(std::vector<NumberedMessage> numbered, const store::AppendResult& result);
  void read_history(HistoryRead read);
  // Goes on with a connection's batch held for the store, once none of its
  // messages waits for the store any more.
  void resume_after_store(ClientId id);
  void settle_message(const PendingMessage& message);
  bool waits_for_store(ClientId id) const;  // messages uncommitted, or a batch held for them
  void end_input(ClientId id, const std::string& detail);
  void keep_tokens(const std::vector<TokenChange>& changes);

  // How many inbox messages are handled before what they delivered is
  // written: enough to gather a burst of requests into one write per
  // recipient, few enough that the first of them is not kept waiting.
  static constexpr int max_messages_per_flush = 256;
  // How many of one sender's messages may wait for the store before its
  // reader stops: the flood limit is the real bound, this only a backstop.
  static constexpr std::uint16_t max_uncommitted = 1024;
  // About the size of a message's line as its sender gets it back.
  static std::size_t echo_size(const PendingMessage& message);

  Inbox& inbox_;
  WallClock now_;
  ChatState state_;
  Connections connections_;
  // The rest of a batch whose connection had no room for more replies.
  struct HeldBatch {
    std::vector<protocol::ParseResult> items;
    std::size_t next;  // the first not yet executed
    bool waits_for_store = false;  // else for room for replies
    // A request handled while earlier messages waited for the store whose
    // reply must not overtake theirs: applied when they are settled.
    std::optional<Effects> deferred = std::nullopt;
  };
  std::unordered_map<ClientId, HeldBatch> held_;
  // Inputs that ended while their requests still waited for the store: why,
  // to act on once they have all run.
  std::unordered_map<ClientId, std::string> ended_inputs_;
  std::vector<ClientId> too_slow_;  // found while delivering, dropped right after
  std::vector<Entry*> to_flush_;           // delivered to since the last flush
  std::vector<Entry*> presence_to_flush_;  // told only of joins and leaves since
  boost::asio::steady_timer presence_timer_;  // armed when presence_to_flush_ gets its first entry
  bool shutting_down_ = false;
  store::HistoryStore* store_ = nullptr;  // none: messages go out at once
  std::vector<PendingMessage> waiting_;   // for the next append
  bool appending_ = false;                // an append is under way
  std::chrono::steady_clock::time_point append_started_;
  metrics::BroadcastCounters counters_;
};

}  // namespace corochat::server
