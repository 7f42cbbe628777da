// Fuzzes ChatState with sequences of inputs from up to eight fake clients:
// connects, disconnects, typed requests drawn from small alphabets of nicks,
// rooms and texts (so that collisions and limits happen), raw request lines
// through parse_request, rejects, keep-alive and registration timeouts, and
// shutdown. Small limits (history 4, 4 rooms, 3 rooms per client, 2 rooms
// per network, 6 clients) keep every limit within reach; the first input byte
// varies them further. The slots connect from three networks (slot mod 3), so
// that connections share a network's rooms and networks meet in a room.
//
// After every step it checks, and aborts on the first violation:
// - ChatState::check_invariants(): unique indexed nicks, members and rooms
//   consistent, history, room, per-client and per-network limits, the
//   per-network counts matching the members;
// - every line is one JSON object; recipients and closes are known clients,
//   nobody twice in one delivery; a `bye` goes exactly to the clients closed,
//   and is the last line each of them gets;
// - ids: when the input had an id, every line to the requester carries it and
//   no line to anyone else carries one; without an id, no line carries one;
// - a room's `message` seq is the previous one + 1 (or 1 again after the
//   epoch changed), its copies reach exactly the room's members, and
//   room_seq() agrees; `joined` and `left` reach the room's members; `welcome`
//   matches the registration and, whatever the room table holds, lists the
//   default room when there is one and a connection may be in a room;
// - `history` replies: contiguous seqs below `before`, at most limit and
//   history size; `who` and `rooms` sorted and matching the state;
// - the harness's own count of open connections matches the state's.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "corochat/protocol/names.hpp"
#include "corochat/protocol/request.hpp"
#include "server/chat_state.hpp"

namespace {

namespace json = boost::json;
using namespace corochat::protocol;
using corochat::server::ChatState;
using corochat::server::ClientId;
using corochat::server::Effects;
using corochat::server::Network;
using corochat::server::StateConfig;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "chat_state_fuzz: invariant violated: %s\n", what.c_str());
  std::abort();
}

constexpr std::size_t slot_count = 8;
constexpr std::size_t max_steps = 400;
constexpr std::size_t network_count = 3;

// A slot's network, fixed so that the input format stays what the seeds say.
Network network_of(std::size_t slot) {
  Network network{};
  network[15] = static_cast<std::uint8_t>(slot % network_count);
  return network;
}

// Small alphabets: case variants collide as nicks; R1 and r1 are two rooms.
constexpr const char* nick_words[] = {"alice", "Alice", "ALICE", "bob", "Bob", "carol", "d",
                                      "x.y_z-1", "-dash", ".dot", "has space", "",
                                      "abcdefghijklmnopqrstuvwxyz0123456"};  // 33 bytes
constexpr const char* room_words[] = {"lobby", "r1", "r2", "r3", "r4", "r5", "R1", "-bad", "bad room", ""};
constexpr const char* text_words[] = {"hi", "", "\"quoted\" \\ and\nnewline", "caf\xc3\xa9",
                                      "sixteen bytes ok", "seventeen bytes!!"};

// Ids as a parsed line would carry them: valid UTF-8, at most 64 bytes.
constexpr const char* id_words[] = {"", "m1", "caf\xc3\xa9 \"\\"};

template <std::size_t N>
std::string pick(FuzzedDataProvider& in, const char* const (&words)[N]) {
  return words[in.ConsumeIntegralInRange<std::size_t>(0, N - 1)];
}

struct Seen {
  std::uint64_t seq;
  std::string epoch;  // the epoch when it was seen: a new one may restart seqs
};

// What one step fed the state, as far as the checks need it.
struct Step {
  ClientId requester = 0;
  RequestId id;            // the id the input carried, if any
  const Request* request = nullptr;
  bool new_connection = false;
};

class Harness {
 public:
  Harness(StateConfig config)
      : config_(config), state_(std::move(config), [this] { return "t" + std::to_string(++tokens_); }) {}

  bool run_step(FuzzedDataProvider& in);

 private:
  Effects request(FuzzedDataProvider& in, ClientId client, Step& step, std::optional<Request>& storage);
  void check(const Effects& fx, const Step& step, const std::set<ClientId>& known);
  std::set<ClientId> members_of(const std::string& room) const;

  StateConfig config_;
  int tokens_ = 0;
  ChatState state_;
  std::array<ClientId, slot_count> slot_id_{};  // 0: never connected
  std::set<ClientId> open_;                     // connections the state should know
  ClientId next_id_ = 1;
  Timestamp now_ = 1'000'000;
  std::map<std::string, Seen> seen_seq_;        // room -> latest message seen
  bool shut_down_ = false;
};

// Builds one request from the alphabets (or an arbitrary line) and hands it in.
Effects Harness::request(FuzzedDataProvider& in, ClientId client, Step& step, std::optional<Request>& storage) {
  RequestId id;
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: id = json::value(in.ConsumeIntegral<std::int64_t>()); break;
    case 1: id = json::value(pick(in, id_words)); break;
    default: break;
  }
  RequestBody body;
  switch (in.ConsumeIntegralInRange(0, 14)) {
    case 0:
    case 1: {
      Hello hello;
      hello.protocol_ok = in.ConsumeIntegralInRange(0, 7) != 0;
      if (in.ConsumeBool()) hello.password = in.ConsumeBool() ? "pw" : "wrong";
      if (in.ConsumeIntegralInRange(0, 7) != 0) hello.nick = pick(in, nick_words);
      if (in.ConsumeBool()) hello.resume = "t" + std::to_string(in.ConsumeIntegralInRange(0, tokens_ + 1));
      body = std::move(hello);
      break;
    }
    case 2: body = ChangeNick{pick(in, nick_words)}; break;
    case 3:
    case 4: body = Join{pick(in, room_words)}; break;
    case 5: body = Part{pick(in, room_words)}; break;
    case 6:
    case 7: body = Say{pick(in, room_words), pick(in, text_words)}; break;
    case 8: body = PrivateMessage{pick(in, nick_words), pick(in, text_words)}; break;
    case 9: body = Who{in.ConsumeBool() ? std::optional<std::string>(pick(in, room_words)) : std::nullopt}; break;
    case 10: body = ListRooms{}; break;
    case 11: {
      History history{pick(in, room_words), {}, {}};
      if (in.ConsumeBool()) history.limit = in.ConsumeIntegralInRange<std::int64_t>(-1, 6);
      if (in.ConsumeBool()) history.before = in.ConsumeIntegralInRange<std::int64_t>(-1, 12);
      body = std::move(history);
      break;
    }
    case 12: body = in.ConsumeBool() ? RequestBody{Ping{}} : RequestBody{Pong{}}; break;
    case 13: body = Quit{}; break;
    default: {
      // An arbitrary line, through the parser, as the server would get it.
      const ParseResult parsed = parse_request(in.ConsumeRandomLengthString(96));
      if (const auto* error = std::get_if<RequestError>(&parsed)) {
        step.id = error->id;
        return state_.reject(client, *error);
      }
      storage = std::get<Request>(parsed);
      step.id = storage->id;
      step.request = &*storage;
      return state_.handle(client, *storage, now_);
    }
  }
  storage = Request{std::move(body), std::move(id)};
  step.id = storage->id;
  step.request = &*storage;
  return state_.handle(client, *storage, now_);
}

// CHAT_STATE_FUZZ_TRACE=1 prints every step, to read what a crash input does.
const bool tracing = std::getenv("CHAT_STATE_FUZZ_TRACE") != nullptr;

void trace(int op, const Step& step, const Effects& fx) {
  constexpr const char* request_names[] = {"hello", "nick", "join", "part", "say", "msg", "who",
                                           "rooms", "history", "ping", "pong", "quit", "malformed"};
  const char* what = op < 16 ? (step.new_connection ? "connect" : "request")
                     : op < 24 ? "disconnect" : op < 26 ? "idle" : op < 28 ? "timed_out"
                     : op < 30 ? "registration_expired" : op < 32 ? "reject" : op == 127 ? "shutdown" : "request";
  std::fprintf(stderr, "client %llu: %s", static_cast<unsigned long long>(step.requester), what);
  if (step.request) std::fprintf(stderr, " %s", request_names[step.request->body.index()]);
  if (step.id) std::fprintf(stderr, " id %s", json::serialize(*step.id).c_str());
  std::fprintf(stderr, "\n");
  for (const auto& delivery : fx.deliveries) {
    std::string to;
    for (ClientId c : delivery.to) to += " " + std::to_string(c);
    std::fprintf(stderr, "  to%s: %s", to.c_str(), delivery.line->c_str());
  }
  for (const auto& c : fx.closes)
    std::fprintf(stderr, "  close %llu\n", static_cast<unsigned long long>(c.client));
}

bool Harness::run_step(FuzzedDataProvider& in) {
  if (shut_down_ || in.remaining_bytes() == 0) return false;
  now_ += in.ConsumeIntegralInRange<Timestamp>(0, 1000);
  const std::size_t slot = in.ConsumeIntegralInRange<std::size_t>(0, slot_count - 1);
  const bool is_open = open_.contains(slot_id_[slot]);
  // A slot never connected, or closed, still sends: the state must ignore it.
  const ClientId client = slot_id_[slot] != 0 ? slot_id_[slot] : 1000 + slot;

  Step step;
  step.requester = client;
  std::set<ClientId> known = open_;  // who may get lines or be closed in this step
  std::optional<Request> storage;
  Effects fx;
  const int op = in.ConsumeIntegralInRange(0, 127);
  if (op < 16 && is_open) {
    fx = request(in, client, step, storage);
  } else if (op < 16) {
    const ClientId fresh = next_id_++;
    const std::size_t closing = in.ConsumeIntegralInRange<std::size_t>(0, 2);
    const bool full = open_.size() + closing >= config_.max_clients;
    slot_id_[slot] = fresh;
    step.requester = fresh;
    step.new_connection = true;
    known.insert(fresh);
    fx = state_.connect(fresh, closing, network_of(slot));
    if (full != !fx.closes.empty()) fail(full ? "a connection past max_clients was kept" : "a connection was refused below max_clients");
    open_.insert(fresh);
  } else if (op < 24) {
    constexpr LeaveReason reasons[] = {LeaveReason::disconnect, LeaveReason::timeout, LeaveReason::slow_consumer};
    fx = state_.disconnect(client, reasons[in.ConsumeIntegralInRange(0, 2)], now_);
    open_.erase(client);
    if (!fx.closes.empty()) fail("disconnect produced a close");
  } else if (op < 26) {
    fx = state_.idle(client);
  } else if (op < 28) {
    fx = state_.timed_out(client, now_);
  } else if (op < 30) {
    fx = state_.registration_expired(client);
  } else if (op < 32) {
    RequestError error{in.ConsumeBool() ? ErrorCode::line_too_long : ErrorCode::rate_limited, "rejected", {}};
    if (in.ConsumeBool()) error.id = json::value(in.ConsumeIntegralInRange<std::int64_t>(-3, 3));
    step.id = error.id;
    fx = state_.reject(client, error);
  } else if (op == 127) {
    fx = state_.shutdown();
    open_.clear();
    shut_down_ = true;
  } else {
    fx = request(in, client, step, storage);
  }
  for (const auto& c : fx.closes) open_.erase(c.client);
  if (tracing) trace(op, step, fx);
  check(fx, step, known);
  return true;
}

std::set<ClientId> Harness::members_of(const std::string& room) const {
  std::set<ClientId> members;
  for (ClientId c : open_) {
    const auto rooms = state_.rooms_of(c);
    if (std::find(rooms.begin(), rooms.end(), room) != rooms.end()) members.insert(c);
  }
  return members;
}

std::vector<std::string> sorted_nicks(const ChatState& state, const std::set<ClientId>& clients) {
  std::vector<std::string> nicks;
  for (ClientId c : clients)
    if (auto nick = state.nick_of(c)) nicks.push_back(*nick);
  std::sort(nicks.begin(), nicks.end());
  return nicks;
}

std::string string_field(const json::object& o, std::string_view key, const std::string& line) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_string()) fail("no string " + std::string(key) + " in " + line);
  return std::string(v->get_string());
}

std::uint64_t seq_field(const json::object& o, const std::string& line) {
  const json::value* v = o.if_contains("seq");
  if (!v || !v->is_int64() || v->get_int64() < 1) fail("no positive seq in " + line);
  return static_cast<std::uint64_t>(v->get_int64());
}

void Harness::check(const Effects& fx, const Step& step, const std::set<ClientId>& known) {
  std::set<ClientId> got_bye;
  struct RoomMessage {
    std::uint64_t seq = 0;
    std::set<ClientId> to;
  };
  std::map<std::string, RoomMessage> messages;  // this step's, by room
  std::map<std::string, std::set<ClientId>> joined, parted, left;  // recipients, by room

  for (const auto& delivery : fx.deliveries) {
    if (!delivery.line) fail("a delivery without a line");
    const std::string& line = *delivery.line;
    if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) fail("not one line: " + line);
    if (delivery.to.empty()) fail("a line for nobody: " + line);
    boost::system::error_code ec;
    const json::value value = json::parse(line, ec);
    if (ec || !value.is_object()) fail("not a JSON object: " + line);
    const json::object& o = value.get_object();
    const std::string kind = string_field(o, "type", line);

    std::set<ClientId> to;
    for (ClientId c : delivery.to) {
      if (!to.insert(c).second) fail("a client twice in one delivery: " + line);
      if (!known.contains(c)) fail("a line to client " + std::to_string(c) + ", not connected: " + line);
      if (got_bye.contains(c)) fail("a line after bye to client " + std::to_string(c) + ": " + line);
    }
    if (const json::value* id = o.if_contains("id")) {
      if (!step.id || *id != *step.id) fail("an id the input did not carry: " + line);
      if (to.size() != 1 || !to.contains(step.requester)) fail("an id on a line to another client: " + line);
    } else if (step.id && to.contains(step.requester)) {
      fail("a line to the requester without its id: " + line);
    }

    if (kind == "bye") got_bye.insert(to.begin(), to.end());
    if (kind == "message") {
      const std::string room = string_field(o, "room", line);
      const std::uint64_t seq = seq_field(o, line);
      if (string_field(o, "from", line) != state_.nick_of(step.requester)) fail("a message not from its sender: " + line);
      RoomMessage& m = messages[room];
      if (!m.to.empty() && m.seq != seq) fail("two messages in one step in room " + room);
      m.seq = seq;
      m.to.insert(to.begin(), to.end());
    }
    if (kind == "welcome") {
      const json::value* rooms = o.if_contains("rooms");
      std::vector<std::string> listed;
      if (rooms && rooms->is_array())
        for (const json::value& r : rooms->get_array())
          if (r.is_string()) listed.emplace_back(r.get_string());
      if (to.size() != 1 || !to.contains(step.requester) ||
          string_field(o, "nick", line) != state_.nick_of(step.requester) ||
          string_field(o, "token", line) != "t" + std::to_string(tokens_) ||
          string_field(o, "epoch", line) != state_.epoch() || listed != state_.rooms_of(step.requester))
        fail("a welcome that does not match the registration: " + line);
      if (!config_.default_room.empty() && config_.max_rooms_per_client > 0 &&
          listed != std::vector<std::string>{config_.default_room})
        fail("a welcome without the default room: " + line);
    }
    if (kind == "joined") joined[string_field(o, "room", line)].insert(to.begin(), to.end());
    if (kind == "left") {
      auto& by_room = string_field(o, "reason", line) == "part" ? parted : left;
      by_room[string_field(o, "room", line)].insert(to.begin(), to.end());
    }
    if (kind == "history") {
      const auto* req = step.request ? std::get_if<History>(&step.request->body) : nullptr;
      if (!req) fail("a history reply to no history request: " + line);
      const std::string room = string_field(o, "room", line);
      const json::value* list = o.if_contains("messages");
      if (room != req->room || !list || !list->is_array()) fail("a malformed history reply: " + line);
      const json::array& stored = list->get_array();
      if (stored.size() > config_.history) fail("history longer than kept: " + line);
      if (req->limit && stored.size() > static_cast<std::uint64_t>(*req->limit)) fail("history over its limit: " + line);
      std::uint64_t previous = 0;
      for (const json::value& m : stored) {
        if (!m.is_object()) fail("a history entry that is no object: " + line);
        const json::object& message = m.get_object();
        if (string_field(message, "type", line) != "message" || string_field(message, "room", line) != room ||
            message.contains("id"))
          fail("a history entry that is not the room's message event: " + line);
        const std::uint64_t seq = seq_field(message, line);
        if (previous != 0 && seq != previous + 1) fail("history seqs not contiguous: " + line);
        if (req->before && static_cast<std::int64_t>(seq) >= *req->before) fail("history at or after before: " + line);
        previous = seq;
      }
      const auto room_seq = state_.room_seq(room);
      if (previous != 0 && (!room_seq || previous > *room_seq)) fail("history beyond the room's seq: " + line);
      if (previous != 0 && !req->before && previous != *room_seq) fail("history without the latest message: " + line);
    }
    if (kind == "who") {
      const json::value* list = o.if_contains("members");
      if (!list || !list->is_array()) fail("a who without members: " + line);
      std::vector<std::string> listed;
      for (const json::value& n : list->get_array()) {
        if (!n.is_string()) fail("a who member that is no string: " + line);
        listed.emplace_back(n.get_string());
      }
      const json::value* room = o.if_contains("room");
      const std::vector<std::string> expected =
          room && room->is_string() ? sorted_nicks(state_, members_of(std::string(room->get_string())))
                                    : sorted_nicks(state_, open_);
      if (listed != expected) fail("who does not list the members: " + line);
      if (std::adjacent_find(listed.begin(), listed.end()) != listed.end()) fail("who lists a nick twice: " + line);
    }
    if (kind == "rooms") {
      const json::value* list = o.if_contains("rooms");
      if (!list || !list->is_array()) fail("a rooms reply without rooms: " + line);
      std::set<std::string> expected;
      for (ClientId c : open_)
        for (const auto& r : state_.rooms_of(c)) expected.insert(r);
      std::vector<std::string> listed;
      for (const json::value& entry : list->get_array()) {
        if (!entry.is_object()) fail("a rooms entry that is no object: " + line);
        const std::string name = string_field(entry.get_object(), "room", line);
        const json::value* count = entry.get_object().if_contains("members");
        if (!count || !count->is_int64() || static_cast<std::size_t>(count->get_int64()) != members_of(name).size())
          fail("a rooms entry with the wrong member count: " + line);
        listed.push_back(name);
      }
      if (!std::is_sorted(listed.begin(), listed.end()) ||
          std::set<std::string>(listed.begin(), listed.end()) != expected || listed.size() != expected.size())
        fail("rooms does not list the rooms with members, sorted: " + line);
    }
  }

  std::set<ClientId> closed;
  for (const auto& c : fx.closes) {
    if (!known.contains(c.client)) fail("closes client " + std::to_string(c.client) + ", not connected");
    if (!closed.insert(c.client).second) fail("closes client " + std::to_string(c.client) + " twice");
    if (state_.nick_of(c.client) || !state_.rooms_of(c.client).empty()) fail("a closed client is still in the state");
  }
  if (closed != got_bye) fail("the clients sent bye are not the clients closed");

  // Seq: +1 per room, every member gets the message, room_seq agrees.
  for (const auto& [room, m] : messages) {
    auto seen = seen_seq_.find(room);
    const bool next = seen == seen_seq_.end() ? m.seq == 1
                                              : m.seq == seen->second.seq + 1 ||
                                                    (m.seq == 1 && seen->second.epoch != state_.epoch());
    if (!next) fail("seq " + std::to_string(m.seq) + " in room " + room + " does not follow the previous one");
    if (m.to != members_of(room)) fail("a message in room " + room + " did not reach exactly its members");
    if (state_.room_seq(room) != m.seq) fail("room_seq disagrees with the message in room " + room);
    seen_seq_[room] = {m.seq, state_.epoch()};
  }
  for (const char* room : room_words) {
    const auto seq = state_.room_seq(room);
    auto seen = seen_seq_.find(room);
    if (!seq) continue;
    if (seen == seen_seq_.end() ? *seq != 0 : *seq != seen->second.seq && !(*seq == 0 && seen->second.epoch != state_.epoch()))
      fail(std::string("room_seq of ") + room + " is not its latest message's seq");
  }

  // joined reaches the room's members, the joiner included; a part reaches
  // them and the one who left; other leaves reach those who remain (whoever
  // took over a nick with resume joined after the leave).
  for (const auto& [room, to] : joined)
    if (to != members_of(room)) fail("joined in room " + room + " did not reach exactly its members");
  for (const auto& [room, to] : parted) {
    std::set<ClientId> expected = members_of(room);
    expected.insert(step.requester);
    if (to != expected) fail("a part from room " + room + " did not reach its members and the leaver");
  }
  for (const auto& [room, to] : left) {
    std::set<ClientId> remaining = members_of(room);
    for (ClientId c : to)
      if (!remaining.contains(c)) fail("a leave from room " + room + " reached a non-member");
    remaining.erase(step.requester);
    for (ClientId c : remaining)
      if (!to.contains(c)) fail("a leave from room " + room + " missed a member");
  }

  // The state as a whole.
  if (state_.connection_count() != open_.size())
    fail("the state counts " + std::to_string(state_.connection_count()) + " connections, not " +
         std::to_string(open_.size()));
  std::set<std::string> folded;
  for (ClientId c : open_)
    if (auto nick = state_.nick_of(c); nick && !folded.insert(fold_nick(*nick)).second) fail("nick " + *nick + " twice");
  if (auto violation = state_.check_invariants()) fail(*violation);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  StateConfig config;
  config.epoch = "e";
  config.history = 4;
  config.max_rooms = 4;
  config.max_rooms_per_client = 3;
  config.max_rooms_per_network = 2;
  config.max_clients = 6;
  config.max_text = 16;
  config.max_reply_bytes = 400;
  config.remembered_rooms = 2;
  // The first byte picks the variants: a password, no default room, tighter
  // room limits (down to none at all), no history kept, no per-network limit.
  const std::uint8_t variant = in.ConsumeIntegral<std::uint8_t>();
  if (variant & 1) config.password = "pw";
  if (variant & 2) config.default_room.clear();
  if (const unsigned per_client = (variant >> 2) & 3; per_client != 0) config.max_rooms_per_client = per_client - 1;
  if (variant & 16) config.max_rooms = (variant & 32) ? 0 : 1;
  if (variant & 64) config.history = 0;
  if (variant & 128) config.max_rooms_per_network = 0;
  Harness harness(std::move(config));
  for (std::size_t step = 0; step < max_steps && harness.run_step(in); ++step) {
  }
  return 0;
}
