#include "server/chat_state.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include "corochat/protocol/names.hpp"

namespace corochat::server {
namespace json = boost::json;
using namespace corochat::protocol;

namespace {

// Delivers one event to `recipients`. When the requester is among them and its
// request had an id, it gets its own copy with the id; everyone else shares one
// line without it.
void deliver(Effects& fx, const SharedLine& shared, const json::object& event,
             std::vector<ClientId> recipients, ClientId requester, const RequestId& id) {
  auto self = std::find(recipients.begin(), recipients.end(), requester);
  if (!id || self == recipients.end()) {
    if (!recipients.empty()) fx.deliveries.push_back({shared, std::move(recipients)});
    return;
  }
  recipients.erase(self);
  if (!recipients.empty()) fx.deliveries.push_back({shared, std::move(recipients)});
  fx.deliveries.push_back({serialize_line(event, id), {requester}});
}

void deliver(Effects& fx, const json::object& event, std::vector<ClientId> recipients, ClientId requester,
             const RequestId& id) {
  const bool only_requester = recipients.size() == 1 && recipients.front() == requester;
  if (id && only_requester) {
    fx.deliveries.push_back({serialize_line(event, id), {requester}});
    return;
  }
  deliver(fx, serialize_line(event), event, std::move(recipients), requester, id);
}

// A join or leave: the requester's copy is its reply and leaves at once; the
// other members' copy is presence.
void tell_presence(Effects& fx, const json::object& event, std::vector<ClientId> recipients, ClientId requester,
                   const RequestId& id) {
  SharedLine shared;
  if (auto self = std::find(recipients.begin(), recipients.end(), requester); self != recipients.end()) {
    recipients.erase(self);
    if (!id) shared = serialize_line(event);
    fx.deliveries.push_back({id ? serialize_line(event, id) : shared, {requester}});
  }
  if (recipients.empty()) return;
  if (!shared) shared = serialize_line(event);
  fx.deliveries.push_back({std::move(shared), std::move(recipients), true});
}

void send(Effects& fx, ClientId to, const json::object& event, const RequestId& id = std::nullopt) {
  fx.deliveries.push_back({serialize_line(event, id), {to}});
}


// The reply budget's clock: the request's time stamp (the state reads no clock).
RateLimiter::Clock::time_point budget_time(Timestamp now) {
  return RateLimiter::Clock::time_point(std::chrono::milliseconds(now));
}

}  // namespace

struct ChatState::Context {
  ClientId id;
  Client& client;
  const RequestId& request_id;
  Timestamp now;
  Effects fx;

  void reply(const json::object& event) { send(fx, id, event, request_id); }
  void fail(ErrorCode code, std::string_view message) { reply(event::error(code, message)); }
};

ChatState::ChatState(StateConfig config, TokenSource make_token)
    : config_(std::move(config)), make_token_(std::move(make_token)), epoch_(config_.epoch) {}

Effects ChatState::connect(ClientId client, std::size_t closing, const Network& network) {
  Effects fx;
  if (clients_.size() + closing >= config_.max_clients) {
    send(fx, client, event::error(ErrorCode::server_full, "the server is full, try again later"));
    send(fx, client, event::bye(ByeReason::server_full));
    fx.closes.push_back({client, ByeReason::server_full});
    return fx;
  }
  clients_[client].network = network;
  return fx;
}

Effects ChatState::handle(ClientId client, const Request& request, Timestamp now) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return {};  // closing: lines after the end are not executed
  Context ctx{client, it->second, request.id, now, {}};
  if (!ctx.client.registered && !allowed_unregistered(request.body)) {
    ctx.fail(ErrorCode::not_registered, "say hello first");
    return std::move(ctx.fx);
  }
  std::visit([&](const auto& body) { on(ctx, body); }, request.body);
  return std::move(ctx.fx);
}

Effects ChatState::reject(ClientId client, const RequestError& error) {
  Effects fx;
  if (clients_.contains(client)) send(fx, client, event::error(error.code, error.message), error.id);
  return fx;
}

Effects ChatState::disconnect(ClientId client, LeaveReason reason, Timestamp now) {
  Effects fx;
  drop_client(fx, client, reason, now);
  return fx;
}

Effects ChatState::idle(ClientId client) {
  Effects fx;
  if (clients_.contains(client)) send(fx, client, event::ping());
  return fx;
}

Effects ChatState::timed_out(ClientId client, Timestamp now) {
  Effects fx;
  if (!clients_.contains(client)) return fx;
  send(fx, client, event::bye(ByeReason::timeout));
  drop_client(fx, client, LeaveReason::timeout, now);
  fx.closes.push_back({client, ByeReason::timeout});
  return fx;
}

Effects ChatState::registration_expired(ClientId client) {
  Effects fx;
  auto it = clients_.find(client);
  if (it == clients_.end() || it->second.registered) return fx;
  send(fx, client, event::bye(ByeReason::registration_timeout));
  clients_.erase(it);
  fx.closes.push_back({client, ByeReason::registration_timeout});
  return fx;
}

void ChatState::take_live_settings(const StateConfig& next) {
  config_.motd = next.motd;
  config_.password = next.password;
  config_.limits = next.limits;
}

Effects ChatState::shutdown() {
  Effects fx;
  std::vector<ClientId> everyone;
  everyone.reserve(clients_.size());
  for (const auto& [id, c] : clients_) everyone.push_back(id);
  if (!everyone.empty()) fx.deliveries.push_back({serialize_line(event::bye(ByeReason::shutdown)), everyone});
  for (ClientId id : everyone) fx.closes.push_back({id, ByeReason::shutdown});
  clients_.clear();
  by_nick_.clear();
  for (auto& [name, room] : rooms_) room.members.clear();
  network_rooms_.clear();
  return fx;
}

bool ChatState::is_registered(ClientId client) const {
  auto it = clients_.find(client);
  return it != clients_.end() && it->second.registered;
}

std::optional<std::string> ChatState::nick_of(ClientId client) const {
  auto it = clients_.find(client);
  if (it == clients_.end() || !it->second.registered) return std::nullopt;
  return it->second.nick;
}

std::optional<std::uint64_t> ChatState::room_seq(std::string_view room) const {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return std::nullopt;
  return it->second.seq;
}

std::vector<std::string> ChatState::rooms_of(ClientId client) const {
  auto it = clients_.find(client);
  return it == clients_.end() ? std::vector<std::string>{} : it->second.rooms;
}

std::optional<std::string> ChatState::check_invariants() const {
  using Violation = std::optional<std::string>;
  if (counted_rooms() > config_.max_rooms) return Violation("more rooms than max_rooms, the default room aside");
  if (!stored_ && forgotten_seq_.size() > config_.remembered_rooms) return Violation("more forgotten rooms than remembered_rooms");
  std::size_t registered = 0;
  for (const auto& [id, client] : clients_) {
    const std::string who = "client " + std::to_string(id);
    if (!client.registered) {
      if (!client.rooms.empty()) return Violation(who + " is in a room without being registered");
      continue;
    }
    ++registered;
    if (!is_valid_nick(client.nick)) return Violation(who + " has an invalid nick");
    auto owner = by_nick_.find(fold_nick(client.nick));
    if (owner == by_nick_.end() || owner->second != id)
      return Violation(who + "'s nick " + client.nick + " is not indexed to it");
    if (client.rooms.size() > config_.max_rooms_per_client) return Violation(who + " is in too many rooms");
    for (const auto& name : client.rooms) {
      if (std::count(client.rooms.begin(), client.rooms.end(), name) != 1)
        return Violation(who + " lists room " + name + " twice");
      auto room = rooms_.find(name);
      if (room == rooms_.end()) return Violation(who + " is in room " + name + ", which does not exist");
      const auto& members = room->second.members;
      if (std::count(members.begin(), members.end(), id) != 1)
        return Violation(who + " is in room " + name + ", whose members do not list it once");
    }
  }
  // Every registered client is indexed under its own folded nick (above), so
  // equal sizes leave no entry for anyone else.
  if (by_nick_.size() != registered) return Violation("a nick is indexed for no registered client");
  // The per-network counts are the members, recounted.
  std::unordered_map<Network, NetworkRooms, NetworkHash> recounted;
  for (const auto& [id, client] : clients_)
    for (const auto& name : client.rooms)
      if (!is_default_room(name)) ++recounted[client.network][name];
  if (recounted != network_rooms_) return Violation("the rooms counted per network are not the members' rooms");
  if (config_.max_rooms_per_network > 0)
    for (const auto& [network, held] : network_rooms_)
      if (held.size() > config_.max_rooms_per_network) return Violation("a network holds more rooms than max_rooms_per_network");
  for (const auto& [name, room] : rooms_) {
    if (!is_valid_room(name)) return Violation("room " + name + " has an invalid name");
    if (room.history.size() > config_.history) return Violation("room " + name + " keeps too much history");
    if (room.history.size() > room.committed) return Violation("room " + name + " has more history than messages");
    if (room.committed > room.seq) return Violation("room " + name + " delivered a seq it never gave");
    if (forgotten_seq_.contains(name)) return Violation("room " + name + " exists and is remembered as forgotten");
    for (ClientId member : room.members) {
      auto client = clients_.find(member);
      if (client == clients_.end() || !client->second.registered)
        return Violation("room " + name + " lists client " + std::to_string(member) + ", not a registered client");
      const auto& mine = client->second.rooms;
      if (std::find(mine.begin(), mine.end(), name) == mine.end())
        return Violation("room " + name + " lists client " + std::to_string(member) + ", who is not in it");
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- requests

void ChatState::on(Context& ctx, const Hello& hello) {
  if (ctx.client.registered) return ctx.fail(ErrorCode::already_registered, "already registered");
  if (!hello.protocol_ok) return ctx.fail(ErrorCode::bad_request, "this server speaks protocol 1");
  if (config_.password && hello.password != config_.password) {
    ctx.fail(ErrorCode::auth_failed, "wrong or missing password");
    ctx.reply(event::bye(ByeReason::auth_failed));
    clients_.erase(ctx.id);
    ctx.fx.closes.push_back({ctx.id, ByeReason::auth_failed});
    return;
  }
  if (!hello.nick) return ctx.fail(ErrorCode::bad_request, "nick is missing or not a string");
  const std::string& nick = *hello.nick;
  if (!is_valid_nick(nick)) return ctx.fail(ErrorCode::bad_nick, "a nick is 1-32 of A-Z a-z 0-9 _ - .");
  std::string folded = fold_nick(nick);
  if (!reserved_.empty()) {
    if (ctx.now >= reserved_until_) reserved_.clear();
    if (auto reserved = reserved_.find(folded); reserved != reserved_.end() && !by_nick_.contains(folded)) {
      if (!hello.resume || token_hash_(*hello.resume) != reserved->second)
        return ctx.fail(ErrorCode::nick_taken, "nick " + nick + " is kept for its owner for a while after a restart");
      reserved_.erase(reserved);
    }
  }
  if (auto owner = by_nick_.find(folded); owner != by_nick_.end()) {
    Client& old = clients_.at(owner->second);
    if (!hello.resume || *hello.resume != old.token)
      return ctx.fail(ErrorCode::nick_taken, "nick " + nick + " is in use");
    // Resume: the old connection is closed and the nick taken over.
    const ClientId old_id = owner->second;
    send(ctx.fx, old_id, event::bye(ByeReason::replaced));
    drop_client(ctx.fx, old_id, LeaveReason::replaced, ctx.now);
    ctx.fx.closes.push_back({old_id, ByeReason::replaced});
  }

  ctx.client.registered = true;
  ctx.client.replies = RateLimiter(config_.reply_rate, config_.reply_burst, budget_time(ctx.now));
  ctx.client.nick = nick;
  ctx.client.token = make_token_();
  if (stored_) ctx.fx.tokens.push_back({ctx.client.token, nick, ctx.now + config_.token_lifetime_ms});
  by_nick_[std::move(folded)] = ctx.id;

  // The welcome says which rooms the connection was joined to, so the default
  // room is claimed before the welcome is sent and joined after it.
  // The default room counts toward max_rooms_per_client: with a limit of 0, none.
  auto lobby = rooms_.end();
  if (!config_.default_room.empty() && config_.max_rooms_per_client > 0)
    lobby = find_or_create_room(config_.default_room);
  std::vector<std::string> joined_rooms;
  if (lobby != rooms_.end()) joined_rooms.push_back(lobby->first);
  ctx.reply(event::welcome({.nick = ctx.client.nick,
                            .server = config_.server_name,
                            .epoch = epoch_,
                            .token = ctx.client.token,
                            .rooms = joined_rooms,
                            .limits = config_.limits,
                            .motd = config_.motd}));
  if (lobby != rooms_.end()) add_member(ctx.fx, ctx.id, ctx.client, lobby, ctx.now, ctx.request_id);
}

void ChatState::on(Context& ctx, const ChangeNick& req) {
  if (!is_valid_nick(req.nick)) return ctx.fail(ErrorCode::bad_nick, "a nick is 1-32 of A-Z a-z 0-9 _ - .");
  const std::string old_nick = ctx.client.nick;
  if (req.nick == old_nick) return ctx.reply(event::nick(old_nick, req.nick, ctx.now));
  std::string folded = fold_nick(req.nick);
  std::string old_folded = fold_nick(old_nick);
  if (folded != old_folded) {
    if (by_nick_.contains(folded)) return ctx.fail(ErrorCode::nick_taken, "nick " + req.nick + " is in use");
    if (reserved_.contains(folded) && ctx.now < reserved_until_)
      return ctx.fail(ErrorCode::nick_taken, "nick " + req.nick + " is kept for its owner for a while after a restart");
    by_nick_.erase(old_folded);
    by_nick_[std::move(folded)] = ctx.id;
  }
  ctx.client.nick = req.nick;
  if (stored_) ctx.fx.tokens.push_back({ctx.client.token, req.nick, ctx.now + config_.token_lifetime_ms});

  // Everyone sharing a room with the requester, once each, and the requester.
  std::vector<ClientId> recipients{ctx.id};
  for (const auto& name : ctx.client.rooms)
    for (ClientId m : rooms_.find(name)->second.members) recipients.push_back(m);
  std::sort(recipients.begin(), recipients.end());
  recipients.erase(std::unique(recipients.begin(), recipients.end()), recipients.end());
  deliver(ctx.fx, event::nick(old_nick, req.nick, ctx.now), std::move(recipients), ctx.id, ctx.request_id);
}

void ChatState::on(Context& ctx, const Join& req) {
  if (!is_valid_room(req.room)) return ctx.fail(ErrorCode::bad_room, "a room is 1-64 of A-Z a-z 0-9 _ - .");
  auto& mine = ctx.client.rooms;
  if (std::find(mine.begin(), mine.end(), req.room) != mine.end())
    return ctx.fail(ErrorCode::already_joined, "already in " + req.room);
  if (mine.size() >= config_.max_rooms_per_client)
    return ctx.fail(ErrorCode::too_many_rooms, "you are in as many rooms as a connection may be");
  if (!network_may_join(ctx.client, req.room))
    return ctx.fail(ErrorCode::too_many_rooms, "connections from your network are in " +
                                                   std::to_string(config_.max_rooms_per_network) +
                                                   " rooms, as many as one network may hold");
  auto room = find_or_create_room(req.room);
  if (room == rooms_.end()) return ctx.fail(ErrorCode::too_many_rooms, "the server has no room for more rooms");
  add_member(ctx.fx, ctx.id, ctx.client, room, ctx.now, ctx.request_id);
}

void ChatState::on(Context& ctx, const Part& req) {
  if (!is_valid_room(req.room)) return ctx.fail(ErrorCode::bad_room, "a room is 1-64 of A-Z a-z 0-9 _ - .");
  auto& mine = ctx.client.rooms;
  if (std::find(mine.begin(), mine.end(), req.room) == mine.end())
    return ctx.fail(ErrorCode::not_in_room, "not a member of " + req.room);
  auto room = rooms_.find(req.room);
  std::vector<ClientId> recipients = room->second.members;  // the requester included
  remove_member(ctx.id, ctx.client, room);
  tell_presence(ctx.fx, event::left(req.room, ctx.client.nick, LeaveReason::part, ctx.now), std::move(recipients),
                ctx.id, ctx.request_id);
}

void ChatState::on(Context& ctx, const Say& req) {
  if (!is_valid_room(req.room)) return ctx.fail(ErrorCode::bad_room, "a room is 1-64 of A-Z a-z 0-9 _ - .");
  if (!text_ok(ctx, req.text)) return;
  auto room = rooms_.find(req.room);
  const auto& mine = ctx.client.rooms;
  if (room == rooms_.end() || std::find(mine.begin(), mine.end(), req.room) == mine.end())
    return ctx.fail(ErrorCode::not_in_room, "not a member of " + req.room);

  Room& r = room->second;
  r.last_activity = ++activity_clock_;
  if (stored_) {
    ctx.fx.messages.push_back({ctx.id, ctx.request_id, req.room, ctx.client.nick, req.text, req.action, ctx.now});
    return;
  }
  r.seq += 1;
  r.committed = r.seq;
  ++counts_.room_messages;
  const json::object message = event::message(req.room, ctx.client.nick, req.text, ctx.now, r.seq, req.action);
  SharedLine line = serialize_line(message);
  if (config_.history > 0) {
    r.history.push_back(line);
    while (r.history.size() > config_.history) r.history.pop_front();
  }
  deliver(ctx.fx, line, message, r.members, ctx.id, ctx.request_id);
}

void ChatState::on(Context& ctx, const PrivateMessage& req) {
  if (!text_ok(ctx, req.text)) return;
  auto target = by_nick_.find(fold_nick(req.to));
  if (target == by_nick_.end()) return ctx.fail(ErrorCode::no_such_nick, "nobody is called " + req.to);
  const ClientId to = target->second;
  const json::object pm = event::private_message(ctx.client.nick, clients_.at(to).nick, req.text, ctx.now, req.action);
  ++counts_.private_messages;
  if (to == ctx.id) return ctx.reply(pm);
  deliver(ctx.fx, pm, {to, ctx.id}, ctx.id, ctx.request_id);
}

bool ChatState::reply_budget_ok(Context& ctx) {
  if (!ctx.client.replies.in_debt(budget_time(ctx.now))) return true;
  ++counts_.reply_limited;
  ctx.fail(ErrorCode::rate_limited, "too much history, who and rooms data asked for, slow down");
  return false;
}

void ChatState::charge_reply(Context& ctx) {
  ctx.client.replies.charge(budget_time(ctx.now), static_cast<double>(ctx.fx.deliveries.back().line->size()));
}

void ChatState::on(Context& ctx, const Who& req) {
  std::vector<std::string> nicks;
  if (req.room && !is_valid_room(*req.room))
    return ctx.fail(ErrorCode::bad_room, "a room is 1-64 of A-Z a-z 0-9 _ - .");
  if (!reply_budget_ok(ctx)) return;
  if (req.room) {
    if (auto room = rooms_.find(*req.room); room != rooms_.end())
      for (ClientId m : room->second.members) nicks.push_back(clients_.at(m).nick);
  } else {
    for (const auto& [id, c] : clients_)
      if (c.registered) nicks.push_back(c.nick);
  }
  std::sort(nicks.begin(), nicks.end());
  ctx.reply(event::who(req.room ? &*req.room : nullptr, nicks));
  charge_reply(ctx);
}

void ChatState::on(Context& ctx, const ListRooms&) {
  if (!reply_budget_ok(ctx)) return;
  std::vector<std::pair<std::string, std::size_t>> list;
  for (const auto& [name, room] : rooms_)  // a std::map: already sorted by bytes
    if (!room.members.empty()) list.emplace_back(name, room.members.size());
  ctx.reply(event::rooms(list));
  charge_reply(ctx);
}

void ChatState::on(Context& ctx, const History& req) {
  if (!is_valid_room(req.room)) return ctx.fail(ErrorCode::bad_room, "a room is 1-64 of A-Z a-z 0-9 _ - .");
  if (req.limit && *req.limit <= 0) return ctx.fail(ErrorCode::bad_request, "limit must be at least 1");
  const auto& mine = ctx.client.rooms;
  if (std::find(mine.begin(), mine.end(), req.room) == mine.end())
    return ctx.fail(ErrorCode::not_in_room, "not a member of " + req.room);
  if (!reply_budget_ok(ctx)) return;

  const Room& r = rooms_.find(req.room)->second;
  const auto limit = static_cast<std::uint64_t>(std::min<std::int64_t>(
      req.limit.value_or(50), static_cast<std::int64_t>(std::max<std::size_t>(config_.history, 1))));
  // The range asked for, seqs low..high: below `before`, above `after`, and
  // never past the last message delivered.
  std::uint64_t high = r.committed;
  if (req.before) high = *req.before <= 0 ? 0 : std::min<std::uint64_t>(high, static_cast<std::uint64_t>(*req.before) - 1);
  const std::uint64_t low = req.after && *req.after > 0 ? static_cast<std::uint64_t>(*req.after) + 1 : 1;
  // The window holds seqs first..r.committed.
  const std::uint64_t first = r.committed - r.history.size() + 1;
  const bool forward = req.after.has_value();  // the oldest of the range, else the newest
  std::vector<SharedLine> picked;
  if (low <= high) {
    const std::uint64_t page_first = forward ? low : std::max(low, high + 1 > limit ? high + 1 - limit : 1);
    if (stored_ && page_first < first) {
      // Older than the window: the store has it.
      ctx.fx.history_read = HistoryRead{ctx.id, ctx.request_id, req.room, high + 1,
                                        forward ? std::optional<std::uint64_t>(low - 1) : std::nullopt,
                                        static_cast<std::size_t>(limit), config_.max_reply_bytes};
      return;
    }
    // Within max_reply_bytes, cut from the far end: the newest when paging
    // forward, else the oldest.
    std::size_t bytes = 0;
    const std::uint64_t lowest = std::max(low, first);
    auto take = [&](std::uint64_t seq) {
      const SharedLine& line = r.history[seq - first];
      if (bytes + line->size() > config_.max_reply_bytes) return false;
      bytes += line->size();
      picked.push_back(line);
      return true;
    };
    if (forward) {
      for (std::uint64_t seq = lowest; seq <= high && picked.size() < limit; ++seq)
        if (!take(seq)) break;
    } else {
      for (std::uint64_t seq = high; seq >= lowest && picked.size() < limit; --seq)
        if (!take(seq)) break;
      std::reverse(picked.begin(), picked.end());
    }
  }
  ctx.fx.deliveries.push_back({history_line(req.room, picked, ctx.request_id), {ctx.id}});
  charge_reply(ctx);
}

Effects ChatState::history_reply(const HistoryRead& read, const std::vector<SharedLine>& lines, Timestamp now) {
  Effects fx;
  auto it = clients_.find(read.from);
  if (it == clients_.end()) return fx;
  fx.deliveries.push_back({history_line(read.room, lines, read.id), {read.from}});
  it->second.replies.charge(budget_time(now), static_cast<double>(fx.deliveries.back().line->size()));
  return fx;
}

// ---------------------------------------------------------------- the store

void ChatState::use_store(std::string epoch, const std::vector<std::pair<std::string, std::uint64_t>>& room_seqs) {
  stored_ = true;
  config_.epoch = epoch;
  epoch_ = std::move(epoch);
  for (const auto& [name, seq] : room_seqs) {
    if (auto room = rooms_.find(name); room != rooms_.end()) {
      room->second.seq = room->second.committed = std::max(room->second.committed, seq);
      room->second.history.clear();
    } else {
      forgotten_seq_[name] = seq;
    }
  }
}

void ChatState::reserve_nicks(const std::vector<Reserved>& reserved, Timestamp now, TokenHash hash) {
  token_hash_ = std::move(hash);
  reserved_until_ = now + config_.resume_grace_ms;
  for (const auto& r : reserved) reserved_[fold_nick(r.nick)] = r.token_hash;
}

std::optional<NumberedMessage> ChatState::number(const PendingMessage& message) {
  auto room = find_or_create_room(message.room);
  if (room == rooms_.end()) return std::nullopt;
  Room& r = room->second;
  r.seq += 1;
  return NumberedMessage{
      message, r.seq,
      serialize_line(event::message(message.room, message.nick, message.text, message.ts, r.seq, message.action))};
}

Effects ChatState::committed(const NumberedMessage& numbered) {
  Effects fx;
  ++counts_.room_messages;
  const PendingMessage& m = numbered.message;
  auto room = rooms_.find(m.room);
  if (room == rooms_.end()) {  // forgotten meanwhile: it keeps counting from here
    auto& seq = forgotten_seq_[m.room];
    seq = std::max(seq, numbered.seq);
    return fx;
  }
  Room& r = room->second;
  // The window stays a run of consecutive seqs.
  if (numbered.seq != r.committed + 1) r.history.clear();
  r.committed = numbered.seq;
  r.seq = std::max(r.seq, numbered.seq);
  if (config_.history > 0) {
    r.history.push_back(numbered.line);
    while (r.history.size() > config_.history) r.history.pop_front();
  }
  if (!m.id) {
    if (!r.members.empty()) fx.deliveries.push_back({numbered.line, r.members});
  } else {
    deliver(fx, numbered.line, event::message(m.room, m.nick, m.text, m.ts, numbered.seq, m.action), r.members,
            m.from, m.id);
  }
  return fx;
}

Effects ChatState::failed(const NumberedMessage& numbered) {
  if (auto room = rooms_.find(numbered.message.room); room != rooms_.end())
    room->second.seq = room->second.committed;
  return failed(numbered.message);
}

Effects ChatState::failed(const PendingMessage& message) {
  return unavailable(message.from, message.id, "the message could not be stored and was not sent");
}

Effects ChatState::unavailable(ClientId from, const RequestId& id, std::string_view what) {
  Effects fx;
  if (clients_.contains(from)) send(fx, from, event::error(ErrorCode::unavailable, what), id);
  return fx;
}

void ChatState::on(Context& ctx, const Ping&) { ctx.reply(event::pong()); }

void ChatState::on(Context&, const Pong&) {}

void ChatState::on(Context& ctx, const Quit&) {
  ctx.reply(event::bye(ByeReason::quit));
  drop_client(ctx.fx, ctx.id, LeaveReason::quit, ctx.now);
  ctx.fx.closes.push_back({ctx.id, ByeReason::quit});
}

void ChatState::on(Context& ctx, const Malformed& req) { ctx.fail(ErrorCode::bad_request, req.message); }

// ---------------------------------------------------------------- rooms

std::size_t ChatState::NetworkHash::operator()(const Network& network) const noexcept {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(network.data()), network.size()));
}

bool ChatState::is_default_room(std::string_view name) const {
  return !config_.default_room.empty() && name == config_.default_room;
}

std::size_t ChatState::counted_rooms() const {
  return rooms_.size() - (!config_.default_room.empty() && rooms_.contains(config_.default_room) ? 1 : 0);
}

// A room the network already holds costs it nothing more; the default room
// never counts, so that it stays open to everyone.
bool ChatState::network_may_join(const Client& client, const std::string& room) const {
  if (config_.max_rooms_per_network == 0 || is_default_room(room)) return true;
  auto held = network_rooms_.find(client.network);
  if (held == network_rooms_.end()) return true;
  return held->second.contains(room) || held->second.size() < config_.max_rooms_per_network;
}

ChatState::RoomMap::iterator ChatState::find_or_create_room(std::string_view name) {
  if (auto it = rooms_.find(name); it != rooms_.end()) return it;
  // The default room is kept beside max_rooms others: were it one of them, a
  // full table would leave newcomers in no room at all.
  if (!is_default_room(name) && counted_rooms() >= config_.max_rooms) {
    // Forget the empty room with the oldest activity; none empty: no room.
    auto victim = rooms_.end();
    for (auto it = rooms_.begin(); it != rooms_.end(); ++it)
      if (it->second.members.empty() && !is_default_room(it->first) &&
          (victim == rooms_.end() || it->second.last_activity < victim->second.last_activity))
        victim = it;
    if (victim == rooms_.end()) return rooms_.end();
    forget_room(victim);
  }
  Room room;
  if (auto remembered = forgotten_seq_.find(std::string(name)); remembered != forgotten_seq_.end()) {
    room.seq = room.committed = remembered->second;
    forgotten_seq_.erase(remembered);
  }
  return rooms_.emplace(std::string(name), std::move(room)).first;
}

void ChatState::forget_room(RoomMap::iterator room) {
  if (room->second.committed > 0) {
    if (!stored_ && forgotten_seq_.size() >= config_.remembered_rooms) {
      // Too many to remember: their numbering may restart, and the epoch says so.
      forgotten_seq_.clear();
      epoch_ = config_.epoch + "." + std::to_string(++epoch_generation_);
    }
    forgotten_seq_[room->first] = room->second.committed;
  }
  rooms_.erase(room);
}

void ChatState::add_member(Effects& fx, ClientId id, Client& client, RoomMap::iterator room, Timestamp now,
                           const RequestId& request_id) {
  room->second.members.push_back(id);
  room->second.last_activity = ++activity_clock_;
  client.rooms.push_back(room->first);
  if (!is_default_room(room->first)) ++network_rooms_[client.network][room->first];
  tell_presence(fx, event::joined(room->first, client.nick, now), room->second.members, id, request_id);
}

void ChatState::remove_member(ClientId id, Client& client, RoomMap::iterator room) {
  auto& members = room->second.members;
  members.erase(std::find(members.begin(), members.end(), id));
  client.rooms.erase(std::find(client.rooms.begin(), client.rooms.end(), room->first));
  if (!is_default_room(room->first)) {
    auto network = network_rooms_.find(client.network);
    if (auto held = network->second.find(room->first); --held->second == 0) {
      network->second.erase(held);  // the network no longer holds the room
      if (network->second.empty()) network_rooms_.erase(network);
    }
  }
  room->second.last_activity = ++activity_clock_;
  // A room that is empty and never had a message holds nothing worth keeping.
  if (members.empty() && room->second.seq == 0) rooms_.erase(room);
}

void ChatState::drop_client(Effects& fx, ClientId id, LeaveReason reason, Timestamp now) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& client = it->second;
  if (client.registered) {
    const std::vector<std::string> rooms = client.rooms;
    for (const auto& name : rooms) {
      auto room = rooms_.find(name);
      remove_member(id, client, room);
      if (auto others = rooms_.find(name); others != rooms_.end() && !others->second.members.empty())
        fx.deliveries.push_back(
            {serialize_line(event::left(name, client.nick, reason, now)), others->second.members, true});
    }
    by_nick_.erase(fold_nick(client.nick));
    if (stored_) fx.tokens.push_back({client.token, {}, 0});
  }
  clients_.erase(it);
}

bool ChatState::text_ok(Context& ctx, std::string_view text) {
  if (text.empty()) {
    ctx.fail(ErrorCode::bad_request, "text must not be empty");
    return false;
  }
  if (text.size() > config_.max_text) {
    ctx.fail(ErrorCode::text_too_long, "text is longer than " + std::to_string(config_.max_text) + " bytes");
    return false;
  }
  return true;
}

}  // namespace corochat::server
