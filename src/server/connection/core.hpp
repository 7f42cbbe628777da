// What every transport's connection shares: the outgoing queue, the request
// reader, the deadlines and their watchdog timer, the inbox messages and the
// one path by which a connection ends. A transport driver (plain TCP, TLS)
// derives from it and adds only its stream, its reader and its writer.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "server/admission.hpp"
#include "server/connection/deadlines.hpp"
#include "server/connection/ending.hpp"
#include "server/connection/outgoing_queue.hpp"
#include "server/connection/read_step.hpp"
#include "server/inbox.hpp"
#include "server/config.hpp"
#include "server/metrics/counters.hpp"
#include "server/request_reader.hpp"

namespace corochat::server {

namespace asio = boost::asio;

class ConnectionCore : public Connection, public std::enable_shared_from_this<ConnectionCore> {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts the reader, the writer and the watchdog.
  virtual void start() = 0;

  bool deliver(const SharedLine& line) final;
  void close_after_flush() final;
  void abort() final;
  bool has_room_for_replies(std::size_t promised) const final { return queue_.at_most_half_full(promised); }
  void tell_when_room_for_replies() final;
  void lines_handled() final;
  const std::string& peer() const final { return peer_; }
  // Counts the connection as open on `transport` (/metrics) until its stream closes.
  void count_as(metrics::Transport transport);
  ~ConnectionCore() override;

 protected:
  ConnectionCore(const asio::any_io_executor& executor, ClientId id, std::string peer, Inbox& inbox,
                 const ConnectionLimits& limits, AdmissionTicket admission);

  // --- what each transport provides ---
  // Closes the stream now: the pending read and write fail.
  virtual void close_stream() = 0;
  // Something the writer waits for happened: closing began, or the stream closed.
  virtual void wake_writer() = 0;
  // One read (or a wait for input, then the read), whose bytes go to
  // handle_read. Called again by the core when the reader may read on.
  virtual void read_on() = 0;
  // Closing: nothing can be lost by closing the stream now. Only a transport
  // that can tell (plain TCP) says so; the others wait for the peer.
  virtual bool peer_has_everything() { return false; }
  // The watchdog polls peer_has_everything while closing.
  virtual bool polls_close() const { return false; }

  // --- for the drivers ---
  void arm_watchdog();
  // What the driver read, one read's worth: a batch of requests is told to
  // the broadcaster and the reader pauses until it is handled and the queue
  // is at most half full; a flood throttles it; anything else is followed by
  // the next read in a later turn of the event loop, so that a peer sending
  // nothing but empty lines cannot keep the loop to itself.
  void handle_read(std::string_view bytes) { handle_step(read(bytes)); }
  // The same for a step the driver took itself with read().
  void handle_step(ReadStep step);
  // read_on in a later turn of the event loop.
  void post_read();
  // A read of `bytes`: what the reader does next. A batch to post is marked
  // pending until the broadcaster has handled it.
  ReadStep read(std::string_view bytes);
  // Tells the broadcaster a batch of lines; `token` as for tell().
  template <class CompletionToken>
  auto post_batch(std::vector<protocol::ParseResult> batch, CompletionToken&& token) {
    return tell(inbox_, message(Inbound::Kind::lines, std::move(batch)), std::forward<CompletionToken>(token));
  }
  Inbound message(Inbound::Kind kind, std::vector<protocol::ParseResult> items = {}, std::string detail = {}) const {
    return Inbound{kind, id_, nullptr, std::move(items), std::move(detail)};
  }
  // The reader may read on: its batch is handled and the queue at most half
  // full, or the stream is closed (the read then fails and ends the reader).
  bool may_read_on() const { return ending_.stream_closed() || (!batch_pending_ && queue_.at_most_half_full()); }
  // What the reader does once its batch is handled and the queue has room.
  ReadStep after_batch() { return server::after_batch(requests_, Clock::now()); }
  // A throttled step: true, and the watchdog wakes the reader (wake_reader)
  // when its time comes. False for any other step, or once the stream is
  // closed (the next read then fails and ends the reader).
  bool throttle_reader(const ReadStep& step);
  bool reader_throttled() const { return deadlines_.reader_throttled(); }
  // The writer wrote `written` bytes from the front of the queue.
  void written(std::size_t bytes);

  // The one end of a connection. The reader calls reader_finished once, the
  // writer writer_finished once; the last closes the stream and tells the
  // broadcaster `closed`.
  void reader_finished(const boost::system::error_code& ec);
  void writer_finished();
  void close_transport();

  static auto context_executor(const asio::any_io_executor& executor) -> asio::io_context::executor_type;

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

  template <class Self>
  std::shared_ptr<Self> self() {
    return std::static_pointer_cast<Self>(shared_from_this());
  }

  const ConnectionLimits& limits_;
  OutgoingQueue queue_;
  RequestReader requests_;
  Ending ending_;

 private:
  // Something the paused or throttled reader waits for happened: its batch was
  // handled, the queue drained to half, its throttle is over, or the stream
  // closed. Posts, never calls: the broadcaster, the writer or the watchdog
  // is in the middle of its work.
  void wake_reader();
  void resume_after_batch();
  void on_watchdog();
  void tell_due(Deadlines::Due due);
  void part_finished();
  void report_room_if_any();

  // The watchdog's timer, and so its pending wait, hold the io_context's own
  // executor (a pointer) rather than a type-erased any_io_executor: about
  // 100 bytes less per idle connection.
  using WatchdogTimer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>;

  ClientId id_;
  std::string peer_;
  Inbox& inbox_;
  WatchdogTimer watchdog_;  // set only by arm_watchdog
  Deadlines deadlines_;
  AdmissionTicket admission_;  // the connection's place in its address's limit and max_clients, until closed
  // Where the reader is when it is not reading.
  enum class Reader : std::uint8_t {
    busy,       // a read, a wait for input, a posted read or a posted batch is under way
    paused,     // its batch is told: waiting until it is handled and the queue is at most half full
    throttled,  // its flood budget is in debt: the watchdog wakes it
  };
  Reader reader_ = Reader::busy;
  bool resume_posted_ = false;  // wake_reader has posted resume_after_batch
  bool batch_pending_ = false;  // a batch is in the inbox or being handled
  bool report_room_ = false;    // the broadcaster waits for room for replies
  bool counted_ = false;        // in metrics::traffic.open[transport_]
  metrics::Transport transport_ = metrics::Transport::plain;
};

}  // namespace corochat::server
