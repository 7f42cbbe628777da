// Requests going out: one tracked request in flight at a time, paced below
// the flood limit, and the one the limit dropped sent again.
#include "corochat/use_tuple.hpp"
#include "session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "corochat/protocol/codes.hpp"
#include "corochat/protocol/event_type.hpp"

namespace corochat::chat_client {
namespace asio = boost::asio;
namespace json = boost::json;
using protocol::ErrorCode;

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
    // Paging back starts from the oldest message the previous /history showed,
    // whose reply is in by now: one tracked request is in flight at a time.
    if (item.pages_history) history_pager_.prepare(*item.request);
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

Session::Answer Session::take_answer(const client::Event& event) {
  Answer answer;
  if (!inflight_) return answer;
  const json::value* id = event.value.if_contains("id");
  // The server answers in request order. An error about a line it could not
  // read carries no id, and answers the request in flight all the same.
  const std::optional<ErrorCode> code = event.code();
  const bool unreadable = !id && (code == ErrorCode::bad_json || code == ErrorCode::line_too_long);
  if (!unreadable && !(id && id->is_int64() && id->get_int64() == inflight_id_)) return answer;
  if (code == ErrorCode::rate_limited) {
    // Dropped by the flood limit: the same request goes again, first.
    pacer_.drain(Pacer::Clock::now());
    queue_.push_front(std::move(*inflight_));
    inflight_.reset();
    wake_sender();
    answer.retried = true;
    return answer;
  }
  answer.request = std::move(inflight_);
  inflight_.reset();
  wake_sender();
  return answer;
}

}  // namespace corochat::chat_client
