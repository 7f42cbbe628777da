// The connection's life: connect, register, reconnect with resume and
// catch up on what was missed, and notice a dead link.
#include "corochat/use_tuple.hpp"
#include "session.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "corochat/protocol/codes.hpp"
#include "corochat/protocol/event_type.hpp"
#include "fields.hpp"

namespace corochat::chat_client {
namespace asio = boost::asio;
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;
using protocol::ErrorCode;
using protocol::EventType;

namespace {
constexpr client::Millis first_backoff{500};
constexpr client::Millis max_backoff{30000};
}  // namespace

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
      if (reply && reply.kind() == EventType::welcome) {
        backoff = first_backoff;
        on_welcome(reply.value, registered_once);
        registered_once = true;
        co_await (read_loop() && send_loop());
        client_->close();
        if (finished_) break;
        output_.print_problem(problem("connection to the server lost", display_context()));
      } else if (reply && reply.kind() == EventType::error) {
        const std::string_view code = string_field(reply.value, "code");
        const std::optional<ErrorCode> known = reply.code();
        json::object hello;
        hello["nick"] = nick_;
        if (!options_.json) output_.print_problem(problem(describe_error(code, string_field(reply.value, "message"), &hello), display_context()));
        if (known == ErrorCode::auth_failed || known == ErrorCode::bad_nick || known == ErrorCode::nick_taken ||
            known == ErrorCode::bad_request) {
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

json::object Session::who_request(const std::string& room) {
  json::object r = client::request::of_type("who");
  r["room"] = room;
  return r;
}

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
    history_pager_.reset();
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
    // A catch-up cut short by this reconnect starts again from what was seen.
    catch_ups_.clear();
    std::erase_if(queue_, [](const Pending& item) { return !item.catch_up_room.empty(); });
    if (inflight_ && !inflight_->catch_up_room.empty()) inflight_.reset();
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
      // What had been seen in the room when the link dropped: the last seq,
      // or (none seen) the time it was joined.
      std::optional<std::uint64_t> seen;
      if (auto last = last_seq_.find(room); last != last_seq_.end()) seen = last->second;
      const auto joined = joined_ts_.find(room);
      RoomCatchUp catch_up(room, seen, joined == joined_ts_.end() ? 0 : joined->second, history_limit_);
      Pending history = bookkeeping(catch_up.next_request());
      history.catch_up_room = room;
      catch_ups_.insert_or_assign(room, std::move(catch_up));
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

}  // namespace corochat::chat_client
