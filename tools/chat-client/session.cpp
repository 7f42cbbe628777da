#include "corochat/use_tuple.hpp"
#include "session.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include "command.hpp"
#include "corochat/protocol/names.hpp"

namespace corochat::chat_client {
namespace asio = boost::asio;
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {
constexpr client::Millis first_backoff{500};
constexpr client::Millis max_backoff{30000};

std::string_view string_field(const json::object& o, std::string_view key) {
  if (const json::value* v = o.if_contains(key); v && v->is_string()) return v->get_string();
  return {};
}

std::int64_t int_field(const json::object& o, std::string_view key, std::int64_t fallback = 0) {
  if (const json::value* v = o.if_contains(key)) {
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  }
  return fallback;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}
}  // namespace

Session::Session(asio::io_context& io, Options options, Output& output)
    : io_(io),
      options_(std::move(options)),
      output_(output),
      wake_(io),
      backoff_timer_(io),
      backlog_timer_(io),
      nick_(options_.nick) {}

DisplayContext Session::display_context() const {
  DisplayContext c;
  c.own_nick = nick_;
  c.colour = options_.colour;
  c.highlights = options_.highlights;
  c.ignored = ignored_;
  return c;
}

bool Session::is_me(std::string_view nick) const { return protocol::fold_nick(nick) == protocol::fold_nick(nick_); }

void Session::show(const json::object& event, const json::object* request) {
  if (options_.json) return;  // --json prints the raw lines instead
  const DisplayContext context = display_context();
  std::string text = format_event(event, context, request);
  if (text.empty()) return;  // nothing to show, or an ignored nick's line
  if (string_field(event, "type") == "error") return output_.print_problem(text);
  output_.print(text);
  note_activity(event, context);
}

// Shown lines count where the user is not looking, and a mention rings.
void Session::note_activity(const json::object& event, const DisplayContext& context) {
  const std::string_view type = string_field(event, "type");
  if (type != "message" && type != "private") return;
  const bool mention = is_mention_event(event, context);
  if (mention && options_.bell) output_.bell();
  if (is_me(string_field(event, "from"))) return;
  if (type == "private") activity_.count_private(string_field(event, "from"));
  else activity_.count_room(std::string(string_field(event, "room")), mention, current_room_);
  update_prompt();
}

void Session::update_prompt() { output_.set_status(current_room_, activity_.indicator(rooms_)); }

void Session::local_problem(std::string_view text) { output_.print_problem(problem(text, display_context())); }

void Session::set_current(std::string room) {
  current_room_ = std::move(room);
  activity_.clear_room(current_room_);  // looked at now
  update_prompt();
}

void Session::wake_sender() { wake_.cancel(); }

void Session::enqueue(Pending item, bool front) {
  if (front) queue_.push_front(std::move(item));
  else queue_.push_back(std::move(item));
  wake_sender();
}

void Session::finish(int status) {
  finished_ = true;
  exit_status_ = status;
  if (client_) client_->close();
  wake_.cancel();
  backoff_timer_.cancel();
  backlog_timer_.cancel();
}

std::vector<std::string> Session::known_nicks() const {
  // Every room's members, so that /msg completes nicks met elsewhere too.
  std::set<std::string> all;
  for (const auto& [room, members] : members_) all.insert(members.begin(), members.end());
  return {all.begin(), all.end()};
}

// ---- input ----------------------------------------------------------------

void Session::input_line(std::string line) {
  if (quitting_ || finished_) return;
  if (!options_.interactive) {
    // Parsed when its turn comes, so it goes to the room current by then.
    Pending item;
    item.raw = std::move(line);
    enqueue(std::move(item));
    return;
  }
  InputContext context{current_room_, rooms_};
  Command command = parse_line(line, context);
  if (!command.ok()) return local_problem(command.error);
  do_local(command);
  if (!command.request) return;
  if (string_field(*command.request, "type") == "msg") {
    activity_.clear_private(string_field(*command.request, "to"));  // answering is reading
    update_prompt();
  }
  Pending item;
  item.make_current = string_field(*command.request, "type") == "join";
  quitting_ = string_field(*command.request, "type") == "quit";
  item.request = std::move(command.request);
  enqueue(std::move(item));
}

bool Session::convert_raw(Pending& item) {
  InputContext context{current_room_, rooms_};
  Command command = parse_line(item.raw, context);
  if (!command.ok()) {
    had_error_ = true;
    local_problem(command.error + ": " + sanitize(item.raw));
    return false;
  }
  do_local(command);
  if (!command.request) return false;
  item.make_current = string_field(*command.request, "type") == "join";
  item.request = std::move(command.request);
  item.raw.clear();
  return true;
}

void Session::do_local(const Command& command) {
  const DisplayContext context = display_context();
  auto say = [&](const std::string& text) {
    if (options_.interactive) output_.print(notice(text, context));
  };
  switch (command.action) {
    case LocalAction::none:
      return;
    case LocalAction::help:
      return output_.print(std::string(help_text()));
    case LocalAction::switch_room:
      set_current(command.argument);
      return say("now talking in " + command.argument);
    case LocalAction::next_active: {
      const auto next = activity_.next(rooms_, current_room_);
      if (!next) return say("no unread lines");
      if (!next->name.starts_with("*")) {
        set_current(next->name);
        return say("now talking in " + next->name);
      }
      // A private conversation has no place to switch to: its lines are above.
      const std::string nick = next->name.substr(1, next->name.size() - 2);
      activity_.clear_private(nick);
      update_prompt();
      return say(std::to_string(next->lines) + " private message" + (next->lines == 1 ? "" : "s") + " from " +
                 nick + " above; /msg " + nick + " TEXT answers");
    }
    case LocalAction::ignore:
      if (is_me(command.argument)) return local_problem("you cannot ignore yourself");
      ignored_.insert(protocol::fold_nick(command.argument));
      activity_.clear_private(command.argument);
      update_prompt();
      return say("ignoring " + command.argument + " (/unignore " + command.argument + " to undo)");
    case LocalAction::unignore:
      if (ignored_.erase(protocol::fold_nick(command.argument)) == 0)
        return local_problem(command.argument + " is not ignored");
      return say("no longer ignoring " + command.argument);
    case LocalAction::list_ignored: {
      if (ignored_.empty()) return say("ignoring nobody");
      std::string list;
      for (const auto& nick : ignored_) list += (list.empty() ? "" : ", ") + nick;
      return say("ignoring " + list);
    }
  }
}

bool Session::offer_paste(std::size_t lines) {
  if (current_room_.empty()) {
    local_problem("no current room: a paste of " + std::to_string(lines) + " lines is not sent");
    return false;
  }
  output_.print(notice("send " + std::to_string(lines) + " lines to " + sanitize(current_room_) + "? [y/N]",
                       display_context()));
  return true;
}

void Session::send_paste(const std::vector<std::string>& lines) {
  if (quitting_ || finished_ || current_room_.empty()) return;
  for (const auto& line : lines) {
    Pending item;
    item.request = client::request::say(current_room_, line);
    enqueue(std::move(item));
  }
}

void Session::drop_paste(std::size_t lines) {
  output_.print(notice("not sent: " + std::to_string(lines) + " pasted lines", display_context()));
}

void Session::input_end() {
  if (input_ended_) return;
  input_ended_ = true;
  if (quitting_ || finished_) return;
  // Sent after every line before it has been answered: the run ends when the
  // server has echoed everything.
  quitting_ = true;
  Pending quit;
  quit.request = client::request::of_type("quit");
  quit.from_input = false;
  enqueue(std::move(quit));
}

void Session::interrupt() {
  if (finished_) return;
  if (++interrupts_ > 1 || !client_ || lost_ || !client_->is_open()) return finish(options_.interactive ? 0 : 130);
  quitting_ = true;
  Pending quit;
  quit.request = client::request::of_type("quit");
  quit.from_input = false;
  quit.tracked = false;  // not behind a request still waiting for its answer
  enqueue(std::move(quit), true);
}

// ---- connection -----------------------------------------------------------

asio::awaitable<int> Session::run() {
  client::Millis backoff = first_backoff;
  bool registered_once = false;
  while (!finished_) {
    client_ = std::make_unique<client::Client>(io_.get_executor());
    client_->set_tls(options_.tls);
    lost_ = false;
    boost::system::error_code ec = co_await client_->connect(options_.host, options_.port);
    if (!ec && !finished_) {
      json::object extra;
      extra["protocol"] = 1;
      if (!options_.password.empty()) extra["password"] = options_.password;
      if (!token_.empty()) extra["resume"] = token_;
      client::Event reply = co_await client_->hello(nick_, client::Millis(10000), std::move(extra));
      if (reply && options_.json) output_.print(reply.line);
      if (reply && reply.type() == "welcome") {
        backoff = first_backoff;
        on_welcome(reply.value, registered_once);
        registered_once = true;
        co_await (read_loop() && send_loop());
        client_->close();
        if (finished_) break;
        output_.print_problem(problem("connection to the server lost", display_context()));
      } else if (reply && reply.type() == "error") {
        const std::string_view code = string_field(reply.value, "code");
        json::object hello;
        hello["nick"] = nick_;
        if (!options_.json) output_.print_problem(problem(describe_error(code, string_field(reply.value, "message"), &hello), display_context()));
        if (code == "auth_failed" || code == "bad_nick" || code == "nick_taken" || code == "bad_request") {
          finish(1);
          break;
        }
      } else if (!registered_once) {
        local_problem("no welcome from " + options_.host + ":" + options_.port + ": " +
                      (reply.ec ? reply.ec.message() : reply.line));
        finish(1);
        break;
      }
    } else if (ec && !registered_once) {
      local_problem("cannot connect to " + options_.host + ":" + options_.port + ": " + ec.message());
      finish(1);
      break;
    }
    if (finished_) break;
    client_->close();
    output_.print(notice("reconnecting in " + std::to_string(backoff.count() / 1000.0).substr(0, 4) + " s",
                         display_context()));
    backoff_timer_.expires_after(backoff);
    co_await backoff_timer_.async_wait(use_tuple);
    backoff = std::min(backoff * 2, max_backoff);
  }
  co_return exit_status_;
}

namespace {
json::object who_request(const std::string& room) {
  json::object r = client::request::of_type("who");
  r["room"] = room;
  return r;
}
}  // namespace

// A request of the client's own, not the user's: its reply is not shown and
// an error answering it does not fail a piped run.
Session::Pending Session::bookkeeping(json::object request) {
  Pending item;
  item.request = std::move(request);
  item.silent = true;
  item.from_input = false;
  return item;
}

void Session::on_welcome(const json::object& welcome, bool reconnect) {
  nick_ = std::string(string_field(welcome, "nick"));
  token_ = std::string(string_field(welcome, "token"));
  const std::string epoch(string_field(welcome, "epoch"));
  double rate = 0, burst = 1;
  if (const json::value* limits = welcome.if_contains("limits"); limits && limits->is_object()) {
    const json::object& l = limits->get_object();
    rate = static_cast<double>(int_field(l, "rate"));
    burst = static_cast<double>(int_field(l, "burst", 1));
    history_limit_ = std::max<std::int64_t>(1, int_field(l, "history", 100));
    idle_ = std::chrono::seconds(std::max<std::int64_t>(5, int_field(l, "idle", 120)));
  }
  pacer_.reset(rate, burst, Pacer::Clock::now());

  std::vector<std::string> auto_joined;
  if (const json::value* rooms = welcome.if_contains("rooms"); rooms && rooms->is_array())
    for (const auto& r : rooms->get_array())
      if (r.is_string()) auto_joined.emplace_back(r.get_string());

  show(welcome);
  const bool same_epoch = reconnect && epoch == epoch_;
  if (reconnect && !same_epoch) {
    output_.print(notice("the server restarted: messages sent while you were away are gone", display_context()));
    last_seq_.clear();
  }
  epoch_ = epoch;

  std::vector<Pending> front;  // ahead of everything queued while disconnected
  if (!reconnect) {
    rooms_ = auto_joined;
    if (!rooms_.empty()) set_current(rooms_.front());
    if (!options_.room.empty()) {
      if (contains(rooms_, options_.room)) {
        set_current(options_.room);
      } else {
        Pending join;
        join.request = client::request::join(options_.room);
        join.make_current = true;
        join.from_input = false;
        front.push_back(std::move(join));
      }
    }
    if (options_.interactive) {
      for (const auto& room : rooms_) {
        front.push_back(bookkeeping(who_request(room)));
      }
    }
  } else {
    const std::vector<std::string> wanted = rooms_;
    rooms_ = auto_joined;
    for (const auto& room : wanted) {
      if (contains(auto_joined, room)) continue;
      front.push_back(bookkeeping(client::request::join(room)));
    }
    for (const auto& room : auto_joined) {
      if (contains(wanted, room)) continue;
      front.push_back(bookkeeping(client::request::part(room)));  // the user had left the default room
    }
    for (const auto& room : wanted) {
      if (!same_epoch) break;
      json::object r = client::request::of_type("history");
      r["room"] = room;
      r["limit"] = history_limit_;
      Pending history = bookkeeping(std::move(r));
      history.catch_up_room = room;
      if (auto seen = last_seq_.find(room); seen != last_seq_.end()) history.catch_up_after = seen->second;
      history.catch_up_since = joined_ts_.count(room) ? joined_ts_[room] : 0;
      first_live_seq_[room] = 0;
      front.push_back(std::move(history));
    }
    if (!contains(wanted, current_room_)) set_current(wanted.empty() ? std::string() : wanted.front());
    if (options_.interactive) {
      for (const auto& room : wanted) {
        front.push_back(bookkeeping(who_request(room)));
      }
    }
    if (inflight_ && inflight_->request && string_field(*inflight_->request, "type") == "msg") {
      // No history shows private messages: sending it again could deliver it twice.
      output_.print_problem(problem("a private message to " + sanitize(string_field(*inflight_->request, "to")) +
                                        " may not have been delivered",
                                    display_context()));
      inflight_.reset();
    } else if (inflight_) {
      // It may or may not have arrived: sent again, unless the catch-up shows it.
      inflight_->resent = true;
      queue_.push_front(std::move(*inflight_));
      inflight_.reset();
    }
  }
  for (auto it = front.rbegin(); it != front.rend(); ++it) queue_.push_front(std::move(*it));
}

asio::awaitable<void> Session::read_loop() {
  bool pinged = false;
  while (!finished_ && !lost_) {
    client::Event event = co_await client_->next(std::chrono::duration_cast<client::Millis>(idle_));
    if (event.ec == asio::error::timed_out) {
      if (pinged) break;  // silent through a whole ping round: the link is dead
      pinged = true;
      Pending ping;
      ping.request = client::request::of_type("ping");
      ping.tracked = false;
      enqueue(std::move(ping), true);
      continue;
    }
    pinged = false;
    if (event.ec == asio::error::message_size) continue;  // an oversized line, skipped
    if (event.ec && !event.line.empty()) {
      if (options_.json) output_.print(sanitize(event.line));
      continue;  // not a JSON object: nothing to act on
    }
    if (event.ec) break;
    handle(event);
  }
  lost_ = true;
  client_->close();
  wake_sender();
}

asio::awaitable<void> Session::send_loop() {
  while (!finished_ && !lost_) {
    // A request in flight holds back the next tracked one; pings, pongs and
    // an interrupt's quit go at once.
    if (queue_.empty() || (inflight_ && queue_.front().tracked)) {
      wake_.expires_at(Pacer::Clock::time_point::max());
      co_await wake_.async_wait(use_tuple);
      continue;
    }
    Pending& next = queue_.front();
    if (!next.request) {
      if (!convert_raw(next)) {
        queue_.pop_front();
        backlog_timer_.cancel();
        continue;
      }
    }
    const auto delay = pacer_.take(Pacer::Clock::now());
    if (delay > Pacer::Clock::duration::zero()) {
      wake_.expires_after(delay);
      co_await wake_.async_wait(use_tuple);
      continue;
    }
    Pending item = std::move(queue_.front());
    queue_.pop_front();
    backlog_timer_.cancel();
    json::object line = *item.request;
    if (item.tracked) {
      inflight_id_ = next_id_++;
      line["id"] = inflight_id_;
      inflight_ = std::move(item);
    }
    boost::system::error_code ec = co_await client_->send(line);
    if (ec) {
      lost_ = true;
      client_->close();
      break;
    }
  }
}

// ---- events ---------------------------------------------------------------

void Session::handle(const client::Event& event) {
  const json::object& e = event.value;
  const std::string_view type = event.type();
  if (options_.json) output_.print(event.line);

  std::optional<Pending> answered;
  if (inflight_) {
    const json::value* id = e.if_contains("id");
    // The server answers in request order. An error about a line it could not
    // read carries no id, and answers the request in flight all the same.
    const std::string_view code = type == "error" ? string_field(e, "code") : std::string_view{};
    const bool unreadable = !id && (code == "bad_json" || code == "line_too_long");
    if (unreadable || (id && id->is_int64() && id->get_int64() == inflight_id_)) {
      if (type == "error" && string_field(e, "code") == "rate_limited") {
        // Dropped by the flood limit: the same request goes again, first.
        pacer_.drain(Pacer::Clock::now());
        queue_.push_front(std::move(*inflight_));
        inflight_.reset();
        wake_sender();
        return;
      }
      answered = std::move(inflight_);
      inflight_.reset();
      wake_sender();
    }
  }

  if (type == "ping") {
    Pending pong;
    pong.request = client::request::of_type("pong");
    pong.tracked = false;
    enqueue(std::move(pong), true);
    return;
  }
  update_state(e, answered ? &*answered : nullptr);

  if (answered && !answered->catch_up_room.empty() && type == "history") {
    show_catch_up(e, *answered);
  } else if (type == "error") {
    if (answered && answered->from_input) had_error_ = true;
    const json::object* request = answered && answered->request ? &*answered->request : nullptr;
    show(e, request);
  } else if (!(answered && answered->silent)) {
    show(e);
  }

  if (type == "bye") {
    const std::string_view reason = string_field(e, "reason");
    // A piped run that a signal cut short did not send all its input: 130, as
    // shells report an interrupted command.
    if (reason == "quit") finish(options_.interactive ? 0 : interrupts_ > 0 ? 130 : had_error_ ? 1 : 0);
    else if (reason == "replaced" || reason == "auth_failed") finish(1);
    // Any other reason: the connection ends and the client reconnects.
  }
}

void Session::update_state(const json::object& e, const Pending* answered) {
  const std::string_view type = string_field(e, "type");
  if (type == "joined") {
    const std::string room(string_field(e, "room"));
    const std::string nick(string_field(e, "nick"));
    members_[room].insert(nick);
    if (!is_me(nick)) return;
    if (!contains(rooms_, room)) rooms_.push_back(room);
    joined_ts_[room] = int_field(e, "ts");
    if (current_room_.empty() || (answered && answered->make_current)) set_current(room);
    if (options_.interactive && answered && !answered->silent) {
      enqueue(bookkeeping(who_request(room)));
    }
  } else if (type == "left") {
    const std::string room(string_field(e, "room"));
    const std::string nick(string_field(e, "nick"));
    if (!is_me(nick)) {
      members_[room].erase(nick);
      return;
    }
    std::erase(rooms_, room);
    members_.erase(room);
    activity_.clear_room(room);
    update_prompt();
    if (current_room_ == room) {
      set_current(rooms_.empty() ? std::string() : rooms_.front());
      if (!current_room_.empty() && !options_.json && options_.interactive)
        output_.print(notice("now talking in " + sanitize(current_room_), display_context()));
    }
  } else if (type == "nick") {
    const std::string old_nick(string_field(e, "old"));
    const std::string new_nick(string_field(e, "new"));
    if (is_me(old_nick)) nick_ = new_nick;
    for (auto& [room, members] : members_)
      if (members.erase(old_nick) > 0) members.insert(new_nick);
  } else if (type == "who") {
    if (!e.contains("room")) return;
    auto& members = members_[std::string(string_field(e, "room"))];
    members.clear();
    if (const json::value* list = e.if_contains("members"); list && list->is_array())
      for (const auto& m : list->get_array())
        if (m.is_string()) members.emplace(m.get_string());
  } else if (type == "message") {
    const std::string room(string_field(e, "room"));
    const auto seq = static_cast<std::uint64_t>(int_field(e, "seq"));
    auto& last = last_seq_[room];
    last = std::max(last, seq);
    if (auto live = first_live_seq_.find(room); live != first_live_seq_.end() && live->second == 0) live->second = seq;
  }
}

void Session::show_catch_up(const json::object& history, const Pending& request) {
  const std::string& room = request.catch_up_room;
  std::uint64_t before = 0;  // the first seq shown live since the reconnect: already on screen
  if (auto live = first_live_seq_.find(room); live != first_live_seq_.end()) {
    before = live->second;
    first_live_seq_.erase(live);
  }
  const json::value* messages = history.if_contains("messages");
  if (!messages || !messages->is_array()) return;
  const auto& after = request.catch_up_after;
  std::vector<const json::object*> missed;
  for (const auto& m : messages->get_array()) {
    if (!m.is_object()) continue;
    const json::object& message = m.get_object();
    const auto seq = static_cast<std::uint64_t>(int_field(message, "seq"));
    if (before != 0 && seq >= before) continue;
    // Without a seq seen in this room, the time it was joined tells what is new.
    if (after ? seq > *after : int_field(message, "ts") >= request.catch_up_since) missed.push_back(&message);
  }
  if (missed.empty()) return;
  const auto first_seq = static_cast<std::uint64_t>(int_field(*missed.front(), "seq"));
  if (!options_.json) {
    output_.print(notice("missed in " + sanitize(room) + " while disconnected:", display_context()));
    if (after && first_seq > *after + 1)
      output_.print(notice("(" + std::to_string(first_seq - *after - 1) + " older messages are no longer kept)",
                           display_context()));
  }
  for (const json::object* message : missed) {
    // A request that was in flight when the link dropped and did arrive: not sent twice.
    if (is_me(string_field(*message, "from"))) {
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (!it->resent || !it->request || string_field(*it->request, "type") != "say") continue;
        if (string_field(*it->request, "room") == room &&
            string_field(*it->request, "text") == string_field(*message, "text")) {
          queue_.erase(it);
          break;
        }
      }
    }
    if (options_.json) output_.print(json::serialize(*message));
    else show(*message);
    update_state(*message, nullptr);
  }
}

}  // namespace corochat::chat_client
