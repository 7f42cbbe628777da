#include "server/broadcaster.hpp"

#include <chrono>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/log.hpp"

namespace corochat::server {
namespace asio = boost::asio;
using protocol::LeaveReason;

namespace {

// Resume tokens guard a nick: unguessable, from the OS's random source.
std::string random_token() {
  static std::random_device source;
  static constexpr char hex[] = "0123456789abcdef";
  std::string token;
  token.reserve(32);  // held per client: one right-sized allocation
  for (int i = 0; i < 4; ++i) {
    std::uint32_t word = source();
    for (int j = 0; j < 8; ++j, word >>= 4) token.push_back(hex[word & 0xf]);
  }
  return token;
}

}  // namespace

Broadcaster::Broadcaster(Inbox& inbox, StateConfig config, WallClock now)
    : inbox_(inbox),
      now_(std::move(now)),
      state_(std::move(config), random_token),
      presence_timer_(inbox.get_executor()) {}

Broadcaster::Broadcaster(Inbox& inbox, StateConfig config, store::HistoryStore& store, WallClock now)
    : Broadcaster(inbox, std::move(config), std::move(now)) {
  store_ = &store;
  std::vector<std::pair<std::string, std::uint64_t>> seqs;
  seqs.reserve(store.room_seqs().size());
  for (const auto& room : store.room_seqs()) seqs.emplace_back(room.room, room.seq);
  state_.use_store(store.epoch(), seqs);
  std::vector<ChatState::Reserved> reserved;
  for (const auto& token : store.tokens_at_open()) reserved.push_back({token.nick, token.hash});
  if (!reserved.empty()) {
    state_.reserve_nicks(reserved, now_(), [](std::string_view token) { return store::token_hash(token); });
    log::info("history store: ", reserved.size(), " nicks kept for their owners to resume");
  }
}

Timestamp Broadcaster::system_time() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

asio::awaitable<void> Broadcaster::run() {
  while (!(shutting_down_ && connections_.empty())) {
    // Named, not a structured binding: GCC 12 destroys a structured binding of a
    // non-trivial co_await result twice.
    std::tuple<boost::system::error_code, Inbound> received =
        co_await inbox_.async_receive(asio::as_tuple(asio::use_awaitable));
    if (std::get<0>(received)) break;
    on(std::get<1>(received));
    // Whatever else is waiting is handled before anything is written, so a
    // connection gets the lines of all of them in one write.
    auto take = [this](boost::system::error_code ec, Inbound in) {
      if (!ec) on(in);
    };
    for (int taken = 1; taken < max_messages_per_flush && !(shutting_down_ && connections_.empty()); ++taken)
      if (!inbox_.try_receive(take)) break;
    store_waiting();
    flush_delivered();
  }
}

void Broadcaster::list_to_flush(Entry& entry, bool presence) {
  if (!presence) {
    if (entry.flush_listed) return;
    entry.flush_listed = true;
    to_flush_.push_back(&entry);
    return;
  }
  if (entry.presence_listed) return;
  entry.presence_listed = true;
  presence_to_flush_.push_back(&entry);
  if (presence_to_flush_.size() > 1) return;  // the timer runs already
  presence_timer_.expires_after(presence_delay);
  presence_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) flush_presence();  // aborted when re-armed, or when the broadcaster is gone
  });
}

void Broadcaster::flush_delivered() {
  for (Entry* entry : to_flush_) {
    entry->flush_listed = false;
    entry->connection->flush();
  }
  to_flush_.clear();
}

// A connection flushed meanwhile for other lines took its presence lines
// along; flushing it again finds nothing to write.
void Broadcaster::flush_presence() {
  std::vector<Entry*> due;
  due.swap(presence_to_flush_);
  for (Entry* entry : due) {
    entry->presence_listed = false;
    entry->connection->flush();
  }
}

// The session is done: nothing is flushed to it any more, and the lists must
// not keep pointing at its entry.
void Broadcaster::forget(Connections::iterator it) {
  Entry* entry = &it->second;
  if (entry->flush_listed) std::erase(to_flush_, entry);
  if (entry->presence_listed) std::erase(presence_to_flush_, entry);
  connections_.erase(it);
}

void Broadcaster::on(Inbound& in) {
  const ClientId id = in.client;
  switch (in.kind) {
    case Inbound::Kind::opened: {
      connections_.emplace(id, Entry{.connection = in.connection});
      log::info("connect ", in.connection->peer(), " id=", id);
      if (shutting_down_) {
        in.connection->deliver(protocol::serialize_line(protocol::event::bye(protocol::ByeReason::shutdown)));
        in.connection->close_after_flush();
        return;
      }
      // The listener admitted it within max_clients: a count here would lag
      // behind the sockets it closed, and refuse a connection it admitted.
      apply(state_.connect(id, 0, in.network));
      return;
    }
    case Inbound::Kind::lines:
      execute(id, std::move(in.items), 0);
      return;
    case Inbound::Kind::room_for_replies:
      if (auto held = held_.find(id); held != held_.end() && !held->second.waits_for_store) {
        HeldBatch batch = std::move(held->second);
        held_.erase(held);
        execute(id, std::move(batch.items), batch.next);
      }
      return;
    case Inbound::Kind::input_ended:
      if (auto it = connections_.find(id); it != connections_.end() && waits_for_store(id)) {
        ended_inputs_[id] = in.detail;  // what it sent before the end runs first
        return;
      }
      end_input(id, in.detail);
      return;
    case Inbound::Kind::closed:
      held_.erase(id);
      ended_inputs_.erase(id);
      apply(state_.disconnect(id, LeaveReason::disconnect, now_()));
      if (auto it = connections_.find(id); it != connections_.end()) {
        log::debug("closed ", it->second.connection->peer(), " id=", id);
        forget(it);
      }
      return;
    case Inbound::Kind::idle:
      apply(state_.idle(id));
      return;
    case Inbound::Kind::timed_out:
      apply(state_.timed_out(id, now_()));
      return;
    case Inbound::Kind::registration_deadline:
      apply(state_.registration_expired(id));
      return;
    case Inbound::Kind::shutdown:
      log::warn("shutting down: closing ", connections_.size(), " connections");
      shutting_down_ = true;
      apply(state_.shutdown());
      return;
    case Inbound::Kind::settings:
      if (in.settings) state_.take_live_settings(*in.settings);
      return;
  }
}

// A connection's requests run in order while its queue has room for their
// replies. When it has none, the rest of the batch waits here until the
// connection reports room again; its reader reads nothing more meanwhile, so
// the order holds and the client is slowed, not cut off, by what it asked for.
void Broadcaster::execute(ClientId id, std::vector<protocol::ParseResult> items, std::size_t next) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Entry& entry = it->second;
  const std::shared_ptr<Connection> connection = entry.connection;
  for (; next < items.size(); ++next) {
    if (!connection->has_room_for_replies(entry.uncommitted_bytes)) {
      if (entry.uncommitted > 0) {  // the echoes still to come fill it: wait for them first
        held_[id] = HeldBatch{std::move(items), next, true};
        return;
      }
      held_[id] = HeldBatch{std::move(items), next};
      connection->tell_when_room_for_replies();
      return;
    }
    auto* request = std::get_if<protocol::Request>(&items[next]);
    // While its messages wait for the store, a sender's further messages go
    // on (they join the same or the next append, so a burst costs one
    // commit); anything else waits, since its reply would overtake theirs.
    if (entry.uncommitted > 0) {
      const bool is_message = request && std::holds_alternative<protocol::Say>(request->body);
      if (!is_message || entry.uncommitted >= max_uncommitted) {
        held_[id] = HeldBatch{std::move(items), next, true};
        return;
      }
      Effects effects = handle(id, *request);
      if (!effects.deliveries.empty() || !effects.closes.empty()) {  // refused, say: after the others' outcome
        held_[id] = HeldBatch{std::move(items), next + 1, true, std::move(effects)};
        return;
      }
      take(entry, std::move(effects));
      continue;
    }
    if (request) {
      if (take(entry, handle(id, *request)) && entry.uncommitted == 0) {
        held_[id] = HeldBatch{std::move(items), next + 1, true};  // a history read
        return;
      }
    } else {
      const auto& error = std::get<protocol::RequestError>(items[next]);
      if (error.code == protocol::ErrorCode::rate_limited) ++counters_.rate_limited;
      apply(state_.reject(id, error));
    }
  }
  connection->lines_handled();
}

bool Broadcaster::take(Entry& entry, Effects effects) {
  const bool waits = !effects.messages.empty() || effects.history_read;
  for (auto& message : effects.messages) {
    ++entry.uncommitted;
    entry.uncommitted_bytes += static_cast<std::uint32_t>(echo_size(message));
    waiting_.push_back(std::move(message));
  }
  if (effects.history_read) read_history(std::move(*effects.history_read));
  apply(std::move(effects));
  return waits;
}

// The state machine's answer to a request, with the nick it gave logged.
Effects Broadcaster::handle(ClientId id, const protocol::Request& request) {
  const bool names = log::enabled(log::Level::info) && (std::holds_alternative<protocol::Hello>(request.body) ||
                                                         std::holds_alternative<protocol::ChangeNick>(request.body));
  std::optional<std::string> nick_before;
  if (names) nick_before = state_.nick_of(id);
  Effects effects = state_.handle(id, request, now_());
  if (names) log_nick_change(id, request, nick_before);
  return effects;
}

// Who a connection is in the log: its nick once registered, and each rename.
void Broadcaster::log_nick_change(ClientId id, const protocol::Request& request,
                                  const std::optional<std::string>& before) {
  const std::optional<std::string> after = state_.nick_of(id);
  if (!after || after == before) return;
  auto it = connections_.find(id);
  const std::string peer = it != connections_.end() ? it->second.connection->peer() : std::string("?");
  if (std::holds_alternative<protocol::Hello>(request.body))
    log::info("registered ", peer, " id=", id, " as ", *after);
  else
    log::info("nick ", peer, " id=", id, ": ", before.value_or(""), " -> ", *after);
}

void Broadcaster::apply(Effects effects) {
  if (store_) keep_tokens(effects.tokens);
  for (;;) {
    for (const auto& delivery : effects.deliveries)
      for (ClientId to : delivery.to) {
        auto it = connections_.find(to);
        if (it == connections_.end()) continue;
        if (!it->second.connection->deliver(delivery.line)) {
          too_slow_.push_back(to);
        } else {
          ++counters_.deliveries;
          list_to_flush(it->second, delivery.presence);
        }
      }
    for (const auto& [id, reason] : effects.closes)
      if (auto it = connections_.find(id); it != connections_.end()) {
        log::info("disconnect ", it->second.connection->peer(), " id=", id, ": ", protocol::to_string(reason));
        it->second.connection->close_after_flush();
      }
    if (too_slow_.empty()) return;
    // A slow consumer is closed at once; its rooms hear why, which may find
    // another slow consumer, handled in the next round.
    const ClientId slow = too_slow_.back();
    too_slow_.pop_back();
    if (auto it = connections_.find(slow); it != connections_.end()) {
      log::info("disconnect ", it->second.connection->peer(), " id=", slow, ": slow consumer");
      it->second.connection->abort();
      ++counters_.slow_consumers;
    }
    effects = state_.disconnect(slow, LeaveReason::slow_consumer, now_());
  }
}

}  // namespace corochat::server

namespace corochat::server {

void Broadcaster::resume_after_store(ClientId id) {
  auto it = connections_.find(id);
  if (it == connections_.end() || it->second.uncommitted > 0) return;
  Entry& entry = it->second;
  if (auto held = held_.find(id); held != held_.end() && held->second.waits_for_store) {
    HeldBatch batch = std::move(held->second);
    held_.erase(held);
    if (batch.deferred && take(entry, std::move(*batch.deferred))) {
      held_[id] = HeldBatch{std::move(batch.items), batch.next, true};
      return;
    }
    execute(id, std::move(batch.items), batch.next);
  }
  if (auto ended = ended_inputs_.find(id); ended != ended_inputs_.end() && !waits_for_store(id)) {
    const std::string detail = std::move(ended->second);
    ended_inputs_.erase(ended);
    end_input(id, detail);
  }
}

// Fire and forget: a token the store failed to keep only costs its owner
// the nick's reservation after a restart.
void Broadcaster::keep_tokens(const std::vector<TokenChange>& changes) {
  for (const auto& change : changes) {
    auto logged = asio::bind_executor(inbox_.get_executor(), [](std::error_code ec) {
      if (ec) log::warn("history store: cannot keep a resume token: ", ec.message());
    });
    if (change.nick.empty())
      store_->async_remove_token(change.token, std::move(logged));
    else
      store_->async_save_token(change.nick, change.token, change.expires, std::move(logged));
  }
}

bool Broadcaster::waits_for_store(ClientId id) const {
  auto it = connections_.find(id);
  if (it != connections_.end() && it->second.uncommitted > 0) return true;
  auto held = held_.find(id);
  return held != held_.end() && held->second.waits_for_store;
}

void Broadcaster::end_input(ClientId id, const std::string& detail) {
  held_.erase(id);
  if (auto it = connections_.find(id); it != connections_.end()) {
    log::info("disconnect ", it->second.connection->peer(), " id=", id, ": ", detail);
    apply(state_.disconnect(id, LeaveReason::disconnect, now_()));
    it->second.connection->close_after_flush();
  }
}

std::size_t Broadcaster::echo_size(const PendingMessage& message) {
  constexpr std::size_t fields = 112;  // type, names, ts, seq, id and JSON punctuation
  return message.room.size() + message.nick.size() + message.text.size() + fields;
}

// One of its sender's messages has its outcome.
void Broadcaster::settle_message(const PendingMessage& message) {
  auto it = connections_.find(message.from);
  if (it == connections_.end() || it->second.uncommitted == 0) return;
  Entry& entry = it->second;
  --entry.uncommitted;
  const auto echo = static_cast<std::uint32_t>(std::min<std::size_t>(entry.uncommitted_bytes, echo_size(message)));
  entry.uncommitted_bytes = entry.uncommitted == 0 ? 0 : entry.uncommitted_bytes - echo;
}

// Everything accepted while the previous append ran goes in one append now.
void Broadcaster::store_waiting() {
  if (appending_ || waiting_.empty()) return;
  std::vector<PendingMessage> pending;
  pending.swap(waiting_);
  std::vector<NumberedMessage> numbered;
  std::vector<store::StoredMessage> batch;
  numbered.reserve(pending.size());
  batch.reserve(pending.size());
  std::vector<ClientId> refused;
  for (const auto& message : pending) {
    if (auto n = state_.number(message)) {
      batch.push_back({n->message.room, n->seq, n->message.ts, n->line});
      numbered.push_back(std::move(*n));
    } else {
      apply(state_.failed(message));
      settle_message(message);
      refused.push_back(message.from);
    }
  }
  for (ClientId id : refused) resume_after_store(id);
  if (batch.empty()) return;
  appending_ = true;
  append_started_ = std::chrono::steady_clock::now();
  store_->async_append(std::move(batch),
                       asio::bind_executor(inbox_.get_executor(), [this, numbered = std::move(numbered)](
                                                                      store::AppendResult result) mutable {
                         on_appended(std::move(numbered), result);
                       }));
}

// In the order appended: a room's messages reach its members in seq order.
void Broadcaster::on_appended(std::vector<NumberedMessage> numbered, const store::AppendResult& result) {
  appending_ = false;
  ++counters_.store_commits;
  counters_.commit_latency.add(std::chrono::steady_clock::now() - append_started_);
  std::size_t failures = 0;
  for (std::size_t i = 0; i < numbered.size(); ++i) {
    const bool committed = i < result.status.size() && result.status[i] == store::MessageStatus::committed;
    if (committed) {
      apply(state_.committed(numbered[i]));
    } else {
      ++failures;
      apply(state_.failed(numbered[i]));
    }
  }
  for (const auto& n : numbered) settle_message(n.message);
  counters_.store_failures += failures;
  if (failures > 0)
    log::error("history store: ", failures, " of ", numbered.size(), " messages not stored: ", result.error.message());
  for (const auto& n : numbered) resume_after_store(n.message.from);
  store_waiting();
  flush_delivered();
}

void Broadcaster::read_history(HistoryRead read) {
  store::HistoryQuery query{read.room, read.before, read.after, read.limit, read.max_bytes};
  store_->async_read(std::move(query), asio::bind_executor(inbox_.get_executor(), [this, read = std::move(read)](
                                                                                     std::error_code ec,
                                                                                     store::HistoryPage page) {
    if (ec) {
      log::error("history store: reading ", read.room, ": ", ec.message());
      apply(state_.unavailable(read.from, read.id, "the history could not be read"));
    } else {
      std::vector<SharedLine> lines;
      lines.reserve(page.messages.size());
      for (auto& entry : page.messages) lines.push_back(std::move(entry.line));
      apply(state_.history_reply(read, lines, now_()));
    }
    resume_after_store(read.from);
    store_waiting();
    flush_delivered();
  }));
}

}  // namespace corochat::server
