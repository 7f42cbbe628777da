// One client connection: a reader, a writer and a watchdog timer around one
// stream. On plain TCP all three are completion handlers, so an idle
// connection holds no coroutine frames; TLS streams keep a reader and a
// writer coroutine. The session owns the stream, the line framer, the flood
// limit and the bounded outgoing queue; everything else belongs to the
// broadcaster.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "corochat/use_tuple.hpp"
#include "server/admission.hpp"
#include "server/request_reader.hpp"
#include "server/inbox.hpp"
#include "server/log.hpp"
#include "server/config.hpp"
#include "server/transport.hpp"

namespace corochat::server {

namespace asio = boost::asio;

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

  Session(Stream stream, ClientId id, Inbox& inbox, const ConnectionLimits& limits, AdmissionTicket admission = {})
      : stream_(std::move(stream)),
        id_(id),
        peer_(transport::peer_name(stream_)),
        inbox_(inbox),
        limits_(limits),
        wake_writer_(stream_.get_executor(), Clock::time_point::max()),
        wake_reader_(stream_.get_executor(), Clock::time_point::max()),
        watchdog_(context_executor(stream_.get_executor())),
        last_input_(Clock::now()),
        registration_due_(last_input_ + limits.registration),
        reader_(limits, last_input_),
        admission_(std::move(admission)) {}

  void start() {
    if constexpr (transport::reads_when_ready<Stream>) {
      boost::system::error_code ignored;  // reads and writes then report would_block, never block
      stream_.non_blocking(true, ignored);
    }
    auto self = this->shared_from_this();
    if constexpr (transport::reads_when_ready<Stream>)
      asio::post(stream_.get_executor(), [self] { self->read_on(); });
    else
      asio::co_spawn(stream_.get_executor(), [self] { return self->read_loop(); }, log_failure("session reader"));
    if constexpr (!transport::writes_directly<Stream>)
      asio::co_spawn(stream_.get_executor(), [self] { return self->write_loop(); }, log_failure("session writer"));
    arm_watchdog();
  }

  bool deliver(const SharedLine& line) override {
    if (aborted_ || transport_closed_) return true;  // going away already
    // A line is never too big for an empty queue: a client is slow when its
    // queue overflows, not when one reply (a welcome with a long MOTD, a
    // `who` of a big server) is larger than the bound.
    if (queued_bytes_ > 0 && queued_bytes_ + line->size() > limits_.queue_bytes) return false;
    queued_bytes_ += line->size();
    if (queue_.capacity() == 0) queue_.reserve(queue_capacity_hint_);  // one allocation, not 1, 2, 4, ...
    queue_.push_back(line);
    return true;
  }

  void flush() override {
    if constexpr (transport::writes_directly<Stream>) {
      if (!flush_posted_ && !waiting_writable_) write_queued();
    } else {
      wake_writer();
    }
  }

  void close_after_flush() override {
    if (closing_ || aborted_) return;
    closing_ = true;
    close_deadline_ = Clock::now() + limits_.close_grace;
    wake_writer();
    watchdog_.cancel();  // its handler re-reads the deadlines
  }

  void abort() override {
    aborted_ = true;
    close_transport();
  }

  bool has_room_for_replies() const override { return queued_bytes_ <= limits_.queue_bytes / 2; }

  void tell_when_room_for_replies() override {
    report_room_ = true;
    report_room_if_any();
  }

  void lines_handled() override {
    batch_pending_ = false;
    if constexpr (transport::reads_when_ready<Stream>) resume_reader();
    else wake_reader_.cancel();
  }

  const std::string& peer() const override { return peer_; }

 private:
  // For the operations an idle connection keeps pending (the watchdog's and
  // the reader's waits): allocated at their own size. Asio's default
  // recycling allocator hands an operation any larger cached block, such as
  // one a channel message just freed, and that block is then held for as
  // long as the connection stays idle.
  // (Asio maps std::allocator to that recycling allocator, hence a type of its own.)
  template <class T>
  struct ExactAllocator {
    using value_type = T;
    ExactAllocator() = default;
    template <class U>
    ExactAllocator(const ExactAllocator<U>&) noexcept {}
    T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
    friend bool operator==(ExactAllocator, ExactAllocator) { return true; }
  };
  template <class Handler>
  static auto exact_size(Handler handler) {
    return asio::bind_allocator(ExactAllocator<void>(), std::move(handler));
  }

  // The plain TCP reader: completion handlers rather than a coroutine, so an
  // idle connection holds one pending wait_read and no frames. One read per
  // call: a read that makes requests posts them and waits until they are
  // handled and the queue is back under half; any other read is followed by
  // the next one in a later turn of the event loop, so a peer that sends
  // nothing but empty lines cannot keep the loop to itself.
  void read_on() {
    // Read first and wait only after would_block: the reactor is
    // edge-triggered and async_wait does not read speculatively, so bytes
    // that arrived while the batch was queued would raise no new event.
    std::span<char> buffer = transport::thread_read_buffer();
    boost::system::error_code ec;
    const std::size_t n = stream_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
    if (ec == asio::error::would_block) {
      stream_.async_wait(Stream::wait_read,
                         exact_size([self = this->shared_from_this()](boost::system::error_code waited) {
                           if (waited) self->end_input(waited);
                           else self->read_on();
                         }));
      return;
    }
    if (ec) {
      end_input(ec);
      return;
    }
    last_input_ = Clock::now();
    std::vector<protocol::ParseResult> items;
    if (closing_) reader_.requests.discard(n, last_input_);  // drained until the peer closes
    else items = reader_.requests.feed({buffer.data(), n}, last_input_);
    if (items.empty()) {
      read_in_a_later_turn();
      return;
    }
    Inbound message{Inbound::Kind::lines, id_, nullptr, std::move(items), {}};
    batch_pending_ = true;
    inbox_.async_send(boost::system::error_code(), std::move(message),
                      [self = this->shared_from_this()](boost::system::error_code) {
                        self->reader_.paused = true;
                        self->read_when_allowed();
                      });
  }

  // After a read that made no request: read again once others had their
  // turn, or, when such input has spent the flood budget, once the rate has
  // paid it back (the watchdog wakes the reader then).
  void read_in_a_later_turn() {
    if (throttled_for_debt(last_input_)) return;
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->read_on(); });
  }

  // Input that made no request, or lines refused by the flood limit, have
  // put the budget in debt: the reader waits until the rate has paid it back
  // (the watchdog wakes it), whatever the last read made.
  bool throttled_for_debt(Clock::time_point now) {
    const Clock::time_point at = reader_.requests.read_again_at(now);
    if (at <= now || transport_closed_) return false;
    reader_.throttled_until = at;
    watchdog_.cancel();  // its handler re-reads the deadlines
    return true;
  }

  bool reader_throttled() const {
    if constexpr (transport::reads_when_ready<Stream>) return reader_.throttled_until != Clock::time_point{};
    else return false;
  }

  // The throttled reader reads on when its time comes, or at once when the
  // socket is closed (the read then fails and ends the reader).
  void wake_throttled_reader(Clock::time_point now) {
    if constexpr (transport::reads_when_ready<Stream>) {
      if (!reader_throttled() || (now < reader_.throttled_until && !transport_closed_)) return;
      reader_.throttled_until = {};
      asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->read_on(); });
    }
  }

  // The paused reader reads on once its batch is handled and its queue is
  // under half, or at once when the socket is closed (the read then fails).
  bool may_read_on() const {
    return transport_closed_ || (!batch_pending_ && queued_bytes_ <= limits_.queue_bytes / 2);
  }

  void read_when_allowed() {
    if (!reader_.paused || !may_read_on()) return;
    reader_.paused = false;
    if (!throttled_for_debt(Clock::now())) read_on();
  }

  // Called where the coroutine reader's wake-up timer was cancelled. Posted,
  // not called: the broadcaster or the writer is in the middle of its work.
  void resume_reader() {
    if (!reader_.paused || reader_.resume_posted || !may_read_on()) return;
    reader_.resume_posted = true;
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->reader_.resume_posted = false;
      self->read_when_allowed();
    });
  }

  void end_input(const boost::system::error_code& ec) {
    input_done_ = true;
    if (reader_.requests.quit() || closing_ || aborted_) {
      reader_finished();
      return;
    }
    std::string ended = transport::is_end_of_input(ec) ? "closed by peer" : ec.message();
    tell_then(Inbound::Kind::input_ended, [self = this->shared_from_this()] { self->reader_finished(); },
              std::move(ended));
  }

  // The handler reader's half of finished(): the last of reader and writer
  // reports the session closed.
  void reader_finished() {
    if (--running_ > 0) return;
    close_transport();
    tell_then(Inbound::Kind::closed, [] {});
  }

  // The reader of any other stream (TLS): a coroutine around async_read_some
  // into a buffer of its own, since OpenSSL, not the socket, holds what is
  // ready to read.
  asio::awaitable<void> read_loop() {
    RequestReader requests(limits_.max_line, limits_.flood_rate, limits_.flood_burst, Clock::now());
    std::array<char, 4096> own_buffer;
    std::string ended = "closed by peer";
    for (;;) {
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(own_buffer), use_tuple);
      const char* data = own_buffer.data();
      if (ec) {
        if (!transport::is_end_of_input(ec)) ended = ec.message();
        break;
      }
      last_input_ = Clock::now();
      std::vector<protocol::ParseResult> items;
      if (closing_) requests.discard(n, last_input_);  // drained until the peer closes
      else items = requests.feed({data, n}, last_input_);
      // Input that made no request and spent the flood budget waits for the rate.
      for (auto now = Clock::now(); requests.read_again_at(now) > now && !transport_closed_; now = Clock::now()) {
        wake_reader_.expires_at(requests.read_again_at(now));
        co_await wake_reader_.async_wait(use_tuple);
      }
      if (!items.empty()) {
        Inbound message{Inbound::Kind::lines, id_, nullptr, std::move(items), {}};
        batch_pending_ = true;
        co_await post(inbox_, std::move(message));
        while (batch_pending_ && !transport_closed_) co_await wake_reader_.async_wait(use_tuple);
        // The replies to a client's requests are its own to read. One that
        // sends faster than it reads is not read on until its queue is back
        // under half, so its replies alone never make it a slow consumer.
        while (queued_bytes_ > limits_.queue_bytes / 2 && !transport_closed_) {
          reader_waits_for_drain_ = true;
          co_await wake_reader_.async_wait(use_tuple);
          reader_waits_for_drain_ = false;
        }
      }
    }
    input_done_ = true;
    // The writer's last act waits for the peer (TLS close_notify): it has
    // nothing more to wait for.
    if (finishing_) close_transport();
    if (!requests.quit() && !closing_ && !aborted_) {
      Inbound message{Inbound::Kind::input_ended, id_, nullptr, {}, std::move(ended)};
      co_await post(inbox_, std::move(message));
    }
    co_await finished();
  }

  void wake_writer() {
    if constexpr (transport::writes_directly<Stream>) {
      if (flush_posted_ || waiting_writable_ || writer_done_) return;
      flush_posted_ = true;  // lines delivered until it runs leave in the same sendmsg
      asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
        self->flush_posted_ = false;
        self->write_queued();
      });
    } else {
      if (writer_waiting_) wake_writer_.cancel();
    }
  }

  // The plain TCP writer: plain handlers rather than a coroutine, so an idle
  // connection holds no writer frames. One non-blocking sendmsg for as many
  // queued lines as fit; it waits for room only when the socket buffer is full.
  // The broadcaster's flush() runs it directly; the session's own wake-ups
  // (closing, closed) post it.
  void write_queued() {
    if (writer_done_) return;
    while (!transport_closed_) {
      if (queue_head_ == queue_.size()) {
        if (!closing_) return;  // until flush() or wake_writer()
        transport::shutdown_sending(stream_);
        break;
      }
      std::span<iovec, transport::max_write_lines> iovecs = transport::thread_iovecs();
      std::size_t count = 0;
      for (std::size_t i = queue_head_; i < queue_.size() && count < iovecs.size(); ++i, ++count) {
        const std::size_t skip = count == 0 ? front_written_ : 0;
        iovecs[count] = iovec{const_cast<char*>(queue_[i]->data()) + skip, queue_[i]->size() - skip};
      }
      boost::system::error_code ec;
      const std::size_t written = transport::send_lines(stream_, iovecs.first(count), ec);
      if (ec == asio::error::would_block) {
        waiting_writable_ = true;
        stream_.async_wait(Stream::wait_write, [self = this->shared_from_this()](boost::system::error_code waited) {
          self->waiting_writable_ = false;
          if (waited) self->close_transport();
          self->write_queued();
        });
        return;
      }
      if (ec) {
        close_transport();
        break;
      }
      consume(written);
    }
    writer_done_ = true;
    release_queue();
    if (--running_ > 0) return;
    close_transport();
    tell_then(Inbound::Kind::closed, [] {});
  }

  // The writer of any other stream (TLS): a coroutine around async_write.
  asio::awaitable<void> write_loop() {
    while (!transport_closed_) {
      if (queue_head_ == queue_.size()) {
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
      std::vector<asio::const_buffer> batch;
      std::size_t bytes = 0;
      for (std::size_t i = queue_head_; i < queue_.size(); ++i) {
        if (batch.size() == max_batch_lines || bytes >= max_batch_bytes) break;
        batch.emplace_back(queue_[i]->data(), queue_[i]->size());
        bytes += queue_[i]->size();
      }
      auto [ec, written] = co_await asio::async_write(stream_, batch, use_tuple);
      if (ec) {
        close_transport();
        break;
      }
      consume(written);
    }
    release_queue();
    co_await finished();
  }

  // Drops what was written from the front of the queue; a line sent in part
  // stays at the front, with the part sent remembered.
  void consume(std::size_t written) {
    queued_bytes_ -= written;
    written += front_written_;
    while (queue_head_ < queue_.size() && written >= queue_[queue_head_]->size()) {
      written -= queue_[queue_head_]->size();
      queue_[queue_head_++].reset();
    }
    front_written_ = written;
    if (queue_head_ == queue_.size()) {
      // An idle connection keeps no queue around after a burst (joins to its
      // rooms arrive in bursts too: see Delivery::presence). Not `queue_ = {}`:
      // that assigns an empty initializer list and keeps the capacity.
      queue_capacity_hint_ = static_cast<std::uint32_t>(std::min<std::size_t>(queue_.capacity(), max_batch_lines * 16));
      std::vector<SharedLine>().swap(queue_);
      queue_head_ = 0;
    } else if (queue_head_ >= queue_.size() / 2) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(queue_head_));
      queue_head_ = 0;
    }
    if constexpr (transport::reads_when_ready<Stream>) resume_reader();
    else if (reader_waits_for_drain_ && queued_bytes_ <= limits_.queue_bytes / 2) wake_reader_.cancel();
    report_room_if_any();
  }

  // The broadcaster stopped executing this connection's requests until its
  // queue had room for their replies: tell it when there is.
  void report_room_if_any() {
    if (!report_room_ || !has_room_for_replies() || transport_closed_) return;
    report_room_ = false;
    tell_then(Inbound::Kind::room_for_replies, [] {});
  }

  void release_queue() {
    std::vector<SharedLine>().swap(queue_);
    queue_head_ = 0;
    front_written_ = 0;
    queued_bytes_ = 0;
  }

  // Keep-alive, registration deadline and the bound on closing, on one timer
  // that only arm_watchdog sets. Plain completion handlers rather than a
  // third coroutine: an idle connection then holds one pending timer wait
  // instead of a coroutine's frames (about 1 KB less per connection).
  void arm_watchdog() {
    if (transport_closed_) return;
    Clock::time_point due = closing_ ? std::min(close_deadline_, next_close_check())
                            : pinged_ ? pinged_at_ + limits_.idle_grace
                                      : last_input_ + limits_.idle;
    if (registration_pending_) due = std::min(due, registration_due_);
    if constexpr (transport::reads_when_ready<Stream>)
      if (reader_throttled()) due = std::min(due, reader_.throttled_until);
    watchdog_.expires_at(due);
    watchdog_.async_wait(exact_size([self = this->shared_from_this()](boost::system::error_code) { self->on_watchdog(); }));
  }

  void on_watchdog() {
    if (transport_closed_) return;
    const auto now = Clock::now();
    wake_throttled_reader(now);
    if (closing_) {
      if (now >= close_deadline_ || peer_has_everything()) close_transport();
      arm_watchdog();
      return;
    }
    if (registration_pending_ && now >= registration_due_) {
      registration_pending_ = false;
      tell_then(Inbound::Kind::registration_deadline, [self = this->shared_from_this(), now] { self->check_idle(now); });
      return;
    }
    check_idle(now);
  }

  // A plain TCP close is complete once the last byte and the FIN are sent,
  // the peer has acknowledged them, and no input is left unread (closing with
  // unread input would reset the connection): waiting on for the peer to
  // close its end, up to the close grace, would only keep the place taken.
  // A TLS close waits for the peer's close_notify within the grace.
  bool peer_has_everything() {
    if constexpr (transport::writes_directly<Stream>) {
      if (!writer_done_) return false;
      boost::system::error_code ec;
      const std::size_t unread = stream_.available(ec);
      return ec || (unread == 0 && transport::unacknowledged_bytes(stream_) == 0);
    } else {
      return false;
    }
  }

  // While a plain TCP close waits for the peer's acknowledgement: soon after
  // the FIN (a LAN acknowledges within a millisecond), then less often.
  Clock::time_point next_close_check() const {
    if constexpr (transport::writes_directly<Stream>) {
      const auto now = Clock::now();
      const auto elapsed = now - (close_deadline_ - limits_.close_grace);
      return now + std::clamp<Clock::duration>(elapsed / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(50));
    } else {
      return Clock::time_point::max();
    }
  }

  void check_idle(Clock::time_point now) {
    if (pinged_ && last_input_ > pinged_at_) pinged_ = false;
    if (!pinged_ && now >= last_input_ + limits_.idle) {
      pinged_ = true;
      pinged_at_ = now;
      tell_then(Inbound::Kind::idle, [self = this->shared_from_this()] { self->arm_watchdog(); });
    } else if (pinged_ && now >= pinged_at_ + limits_.idle_grace) {
      tell_then(Inbound::Kind::timed_out, [self = this->shared_from_this(), now] {
        self->pinged_ = false;
        self->last_input_ = now;  // the broadcaster is closing it; do not ping again meanwhile
        self->arm_watchdog();
      });
    } else {
      arm_watchdog();
    }
  }

  // Tells the broadcaster, waiting while the inbox is full, then goes on.
  template <class Next>
  void tell_then(Inbound::Kind kind, Next next, std::string detail = {}) {
    Inbound message{kind, id_, nullptr, {}, std::move(detail)};
    inbox_.async_send(boost::system::error_code(), std::move(message),
                      [next = std::move(next)](boost::system::error_code) { next(); });
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
    admission_ = AdmissionTicket();  // its descriptor is free: so is its place
    wake_writer_.cancel();
    wake_writer();  // the TCP writer, when idle, learns of it only this way
    if constexpr (transport::reads_when_ready<Stream>) {
      resume_reader();
      wake_throttled_reader(Clock::now());
    } else {
      wake_reader_.cancel();
    }
    watchdog_.cancel();
  }

  // Plain TCP needs no wake-up timers: its reader and writer are handlers
  // that are called, not coroutines that wait. A timer is ~100 bytes.
  struct NoTimer {
    template <class... Args>
    explicit NoTimer(Args&&...) {}
    void cancel() {}
  };
  template <bool handler_driven>
  using WakeTimer = std::conditional_t<handler_driven, NoTimer, asio::steady_timer>;

  // What the handler reader keeps between reads; the coroutine reader keeps
  // it in its frame.
  struct HandlerReader {
    HandlerReader(const ConnectionLimits& limits, Clock::time_point now)
        : requests(limits.max_line, limits.flood_rate, limits.flood_burst, now) {}
    RequestReader requests;
    Clock::time_point throttled_until{};  // set: input that made no request spent the budget
    bool paused = false;         // a batch was posted: waiting until it is handled and the queue drains
    bool resume_posted = false;  // resume_reader has queued read_when_allowed
  };
  struct NoReader {
    NoReader(const ConnectionLimits&, Clock::time_point) {}
  };

  // The watchdog's timer, and so its pending wait, hold the io_context's own
  // executor (a pointer) rather than a type-erased any_io_executor: about
  // 100 bytes less per idle connection.
  using WatchdogTimer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>;
  static asio::io_context::executor_type context_executor(const asio::any_io_executor& executor) {
    const auto* context = executor.target<asio::io_context::executor_type>();
    if (!context) throw std::logic_error("a session's stream must run on an io_context");
    return *context;
  }

  static constexpr std::size_t max_batch_lines = 64;
  static constexpr std::size_t max_batch_bytes = 256 * 1024;

  Stream stream_;
  ClientId id_;
  std::string peer_;
  Inbox& inbox_;
  const ConnectionLimits& limits_;

  // Lines not yet written start at queue_head_; a vector, not a deque, so an
  // idle connection's empty queue holds no memory.
  std::vector<SharedLine> queue_;
  std::size_t queue_head_ = 0;
  std::size_t front_written_ = 0;  // bytes of the line at queue_head_ already sent
  std::size_t queued_bytes_ = 0;
  [[no_unique_address]] WakeTimer<transport::writes_directly<Stream>> wake_writer_;  // writer coroutine only
  bool writer_waiting_ = false;
  bool flush_posted_ = false;      // plain TCP: a flush is queued on the executor
  bool waiting_writable_ = false;  // plain TCP: waiting for room in the socket buffer
  bool writer_done_ = false;       // plain TCP: the writer has finished

  [[no_unique_address]] WakeTimer<transport::reads_when_ready<Stream>> wake_reader_;  // reader coroutine only
  bool batch_pending_ = false;
  bool reader_waits_for_drain_ = false;

  WatchdogTimer watchdog_;  // set only by arm_watchdog
  Clock::time_point last_input_;
  Clock::time_point registration_due_;
  Clock::time_point pinged_at_;
  Clock::time_point close_deadline_ = Clock::time_point::max();

  // The flags together, so they share padding.
  std::uint32_t queue_capacity_hint_ = 16;  // how large the queue grew in its last burst
  bool registration_pending_ = true;
  bool pinged_ = false;
  bool closing_ = false;
  bool aborted_ = false;
  bool transport_closed_ = false;
  bool input_done_ = false;  // the reader has seen the end of input, or an error
  bool finishing_ = false;   // the writer has sent all and is ending the stream
  bool report_room_ = false;  // the broadcaster waits for room for replies
  int running_ = 2;  // reader and writer
  [[no_unique_address]] std::conditional_t<transport::reads_when_ready<Stream>, HandlerReader, NoReader> reader_;
  AdmissionTicket admission_;  // the connection's place in its address's limit and max_clients, until closed
};

}  // namespace corochat::server
