// One client connection: a reader, a writer and a watchdog coroutine around
// one stream. The session owns the stream, the line framer, the flood limit
// and the bounded outgoing queue; everything else belongs to the broadcaster.
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <memory>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "corochat/protocol/framer.hpp"
#include "corochat/server/rate_limiter.hpp"
#include "server/inbox.hpp"
#include "server/log.hpp"
#include "server/options.hpp"
#include "server/transport.hpp"

namespace corochat::server {

namespace asio = boost::asio;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Logs what escapes a coroutine instead of dropping it silently (asio#1111).
inline auto log_failure(const char* what) {
  return [what](std::exception_ptr failure) {
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      log::error(what, " failed: ", e.what());
    } catch (...) {
      log::error(what, " failed");
    }
  };
}

template <class Stream>
class Session final : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  using Clock = std::chrono::steady_clock;

  Session(Stream stream, ClientId id, Inbox& inbox, const SessionLimits& limits)
      : stream_(std::move(stream)),
        id_(id),
        peer_(transport::peer_name(stream_)),
        inbox_(inbox),
        limits_(limits),
        wake_writer_(stream_.get_executor(), Clock::time_point::max()),
        wake_reader_(stream_.get_executor(), Clock::time_point::max()),
        watchdog_(stream_.get_executor()),
        last_input_(Clock::now()) {}

  void start() {
    auto self = this->shared_from_this();
    asio::co_spawn(stream_.get_executor(), [self] { return self->read_loop(); }, log_failure("session reader"));
    asio::co_spawn(stream_.get_executor(), [self] { return self->write_loop(); }, log_failure("session writer"));
    asio::co_spawn(stream_.get_executor(), [self] { return self->watch(); }, log_failure("session watchdog"));
  }

  bool deliver(const SharedLine& line) override {
    if (aborted_ || transport_closed_) return true;  // going away already
    if (queued_bytes_ + line->size() > limits_.queue_bytes) return false;
    queued_bytes_ += line->size();
    queue_.push_back(line);
    if (writer_waiting_) wake_writer_.cancel();
    return true;
  }

  void close_after_flush() override {
    if (closing_ || aborted_) return;
    closing_ = true;
    close_deadline_ = Clock::now() + limits_.close_grace;
    if (writer_waiting_) wake_writer_.cancel();
    watchdog_.cancel();  // it re-reads the deadlines
  }

  void abort() override {
    aborted_ = true;
    close_transport();
  }

  void lines_handled() override {
    batch_pending_ = false;
    wake_reader_.cancel();
  }

  const std::string& peer() const override { return peer_; }

 private:
  // Collects what the framer finds in one read, in order.
  struct LineCollector {
    std::vector<protocol::ParseResult>& items;
    RateLimiter& flood;
    Clock::time_point now;
    bool quit = false;

    void on_line(std::string_view line) {
      if (quit) return;  // lines after a quit are not executed
      protocol::ParseResult parsed = protocol::parse_request(line);
      if (!flood.allow(now)) {
        protocol::RequestId id;
        if (auto* r = std::get_if<protocol::Request>(&parsed)) id = std::move(r->id);
        else id = std::move(std::get<protocol::RequestError>(parsed).id);
        items.emplace_back(protocol::RequestError{protocol::ErrorCode::rate_limited,
                                                  "too many requests, slow down", std::move(id)});
        return;
      }
      if (auto* r = std::get_if<protocol::Request>(&parsed); r && std::holds_alternative<protocol::Quit>(r->body))
        quit = true;
      items.push_back(std::move(parsed));
    }
    // Every line, too long or not, gets exactly one reply, and counts
    // toward the flood limit.
    void on_too_long() {
      if (quit) return;
      const bool allowed = flood.allow(now);
      items.emplace_back(protocol::RequestError{
          allowed ? protocol::ErrorCode::line_too_long : protocol::ErrorCode::rate_limited,
          allowed ? "line longer than the server's max_line" : "too many requests, slow down", std::nullopt});
    }
  };

  asio::awaitable<void> read_loop() {
    protocol::LineFramer framer(limits_.max_line);
    RateLimiter flood(limits_.flood_rate, limits_.flood_burst, Clock::now());
    std::array<char, 4096> buffer;
    bool quit = false;
    std::string ended = "closed by peer";
    for (;;) {
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buffer), use_tuple);
      if (ec) {
        if (!transport::is_end_of_input(ec)) ended = ec.message();
        break;
      }
      last_input_ = Clock::now();
      if (quit || closing_) continue;  // draining what arrives until the peer closes
      std::vector<protocol::ParseResult> items;
      LineCollector collector{items, flood, last_input_};
      framer.feed({buffer.data(), n}, collector);
      quit = collector.quit;
      if (!items.empty()) {
        Inbound message{Inbound::Kind::lines, id_, nullptr, std::move(items), {}};
        batch_pending_ = true;
        co_await post(inbox_, std::move(message));
        while (batch_pending_ && !transport_closed_) co_await wake_reader_.async_wait(use_tuple);
      }
    }
    input_done_ = true;
    // The writer's last act waits for the peer (TLS close_notify): it has
    // nothing more to wait for.
    if (finishing_) close_transport();
    if (!quit && !closing_ && !aborted_) {
      Inbound message{Inbound::Kind::input_ended, id_, nullptr, {}, std::move(ended)};
      co_await post(inbox_, std::move(message));
    }
    co_await finished();
  }

  asio::awaitable<void> write_loop() {
    std::vector<asio::const_buffer> batch;
    while (!transport_closed_) {
      if (queue_.empty()) {
        if (closing_) {
          if (input_done_) break;  // the peer is gone: closing says the rest
          finishing_ = true;
          co_await transport::finish_sending(stream_);
          break;
        }
        writer_waiting_ = true;
        co_await wake_writer_.async_wait(use_tuple);
        writer_waiting_ = false;
        continue;
      }
      // One gathered write for as many queued lines as fit.
      batch.clear();
      std::size_t bytes = 0;
      for (const auto& line : queue_) {
        if (batch.size() == max_batch_lines || bytes >= max_batch_bytes) break;
        batch.emplace_back(line->data(), line->size());
        bytes += line->size();
      }
      auto [ec, written] = co_await asio::async_write(stream_, batch, use_tuple);
      if (ec) {
        close_transport();
        break;
      }
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(batch.size()));
      queued_bytes_ -= written;
    }
    queue_.clear();
    queued_bytes_ = 0;
    co_await finished();
  }

  // Keep-alive, registration deadline and the bound on closing, on one timer
  // that only this coroutine arms.
  asio::awaitable<void> watch() {
    auto self = this->shared_from_this();
    const Clock::time_point registration_due = Clock::now() + limits_.registration;
    bool registration_pending = true;
    bool pinged = false;
    Clock::time_point pinged_at;
    while (!transport_closed_) {
      Clock::time_point due = closing_ ? close_deadline_
                              : pinged ? pinged_at + limits_.idle_grace
                                       : last_input_ + limits_.idle;
      if (registration_pending) due = std::min(due, registration_due);
      watchdog_.expires_at(due);
      co_await watchdog_.async_wait(use_tuple);
      if (transport_closed_) break;
      const auto now = Clock::now();
      if (closing_) {
        if (now >= close_deadline_) close_transport();
        continue;
      }
      if (registration_pending && now >= registration_due) {
        registration_pending = false;
        co_await tell(Inbound::Kind::registration_deadline);
      }
      if (pinged && last_input_ > pinged_at) pinged = false;
      if (!pinged && now >= last_input_ + limits_.idle) {
        pinged = true;
        pinged_at = now;
        co_await tell(Inbound::Kind::idle);
      } else if (pinged && now >= pinged_at + limits_.idle_grace) {
        co_await tell(Inbound::Kind::silent);
        pinged = false;
        last_input_ = now;  // the broadcaster is closing it; do not ping again meanwhile
      }
    }
  }

  asio::awaitable<void> tell(Inbound::Kind kind) {
    Inbound message{kind, id_, nullptr, {}, {}};
    co_await post(inbox_, std::move(message));
  }

  // The reader and the writer each call this once; the last one reports the
  // session closed, so the broadcaster hears of it exactly once.
  asio::awaitable<void> finished() {
    if (--running_ > 0) co_return;
    close_transport();
    co_await tell(Inbound::Kind::closed);
  }

  void close_transport() {
    if (transport_closed_) return;
    transport_closed_ = true;
    transport::close_now(stream_);
    wake_writer_.cancel();
    wake_reader_.cancel();
    watchdog_.cancel();
  }

  static constexpr std::size_t max_batch_lines = 64;
  static constexpr std::size_t max_batch_bytes = 256 * 1024;

  Stream stream_;
  ClientId id_;
  std::string peer_;
  Inbox& inbox_;
  const SessionLimits& limits_;

  std::deque<SharedLine> queue_;
  std::size_t queued_bytes_ = 0;
  asio::steady_timer wake_writer_;  // waited on by the writer only, cancelled to wake it
  bool writer_waiting_ = false;

  asio::steady_timer wake_reader_;  // waited on by the reader only, until its batch is handled
  bool batch_pending_ = false;

  asio::steady_timer watchdog_;
  Clock::time_point last_input_;
  Clock::time_point close_deadline_ = Clock::time_point::max();

  bool closing_ = false;
  bool aborted_ = false;
  bool transport_closed_ = false;
  bool input_done_ = false;  // the reader has seen the end of input, or an error
  bool finishing_ = false;   // the writer has sent all and is ending the stream
  int running_ = 2;  // reader and writer
};

}  // namespace corochat::server
