#include "server/connection/core.hpp"

#include <stdexcept>

#include "server/transport.hpp"

namespace corochat::server {

ConnectionCore::ConnectionCore(const asio::any_io_executor& executor, ClientId id, std::string peer, Inbox& inbox,
                               const ConnectionLimits& limits, AdmissionTicket admission)
    : limits_(limits),
      queue_(limits.queue_bytes),
      requests_(limits.max_line, limits.flood_rate, limits.flood_burst, Clock::now()),
      id_(id),
      peer_(std::move(peer)),
      inbox_(inbox),
      watchdog_(context_executor(executor)),
      deadlines_(Clock::now(), limits),
      admission_(std::move(admission)) {}

// Whatever the queue still held leaves the count with it.
ConnectionCore::~ConnectionCore() { metrics::traffic.queued_bytes -= queue_.bytes(); }

void ConnectionCore::count_as(metrics::Transport transport) {
  transport_ = transport;
  counted_ = !ending_.stream_closed();
  if (counted_) ++metrics::traffic.open[static_cast<std::size_t>(transport)];
}

asio::io_context::executor_type ConnectionCore::context_executor(const asio::any_io_executor& executor) {
  const auto* context = executor.target<asio::io_context::executor_type>();
  if (!context) throw std::logic_error("a connection's stream must run on an io_context");
  return *context;
}

bool ConnectionCore::deliver(const SharedLine& line) {
  if (ending_.going_away()) return true;
  if (!queue_.push(line)) return false;
  metrics::traffic.queued_bytes += line->size();
  return true;
}

void ConnectionCore::post_read() {
  asio::post(watchdog_.get_executor(), [self = shared_from_this()] { self->read_on(); });
}

void ConnectionCore::handle_step(ReadStep step) {
  if (step.kind == ReadStep::Kind::post_batch) {
    post_batch(std::move(step.batch), [self = shared_from_this()](boost::system::error_code) {
      self->reader_ = Reader::paused;
      self->resume_after_batch();
    });
    return;
  }
  if (throttle_reader(step)) {
    reader_ = Reader::throttled;
    return;
  }
  post_read();
}

void ConnectionCore::resume_after_batch() {
  if (reader_ != Reader::paused || !may_read_on()) return;
  reader_ = Reader::busy;
  if (throttle_reader(after_batch())) {
    reader_ = Reader::throttled;
    return;
  }
  read_on();
}

void ConnectionCore::wake_reader() {
  switch (reader_) {
    case Reader::busy:
      return;
    case Reader::paused:
      if (resume_posted_ || !may_read_on()) return;
      resume_posted_ = true;
      asio::post(watchdog_.get_executor(), [self = shared_from_this()] {
        self->resume_posted_ = false;
        self->resume_after_batch();
      });
      return;
    case Reader::throttled:
      if (reader_throttled()) return;  // not yet
      reader_ = Reader::busy;
      post_read();
      return;
  }
}

void ConnectionCore::close_after_flush() {
  if (!ending_.begin_closing()) return;
  deadlines_.begin_closing(Clock::now(), limits_);
  wake_writer();
  watchdog_.cancel();  // its handler re-reads the deadlines
}

void ConnectionCore::abort() {
  ending_.abort();
  close_transport();
}

void ConnectionCore::tell_when_room_for_replies() {
  report_room_ = true;
  report_room_if_any();
}

void ConnectionCore::lines_handled() {
  batch_pending_ = false;
  wake_reader();
}

ReadStep ConnectionCore::read(std::string_view bytes) {
  const auto now = Clock::now();
  deadlines_.input(now);
  metrics::traffic.bytes_in += bytes.size();
  ReadStep step = after_read(requests_, bytes, ending_.closing(), now);
  if (step.kind == ReadStep::Kind::post_batch) batch_pending_ = true;
  return step;
}

bool ConnectionCore::throttle_reader(const ReadStep& step) {
  if (step.kind != ReadStep::Kind::throttled || ending_.stream_closed()) return false;
  deadlines_.throttle_reader(step.until);
  watchdog_.cancel();  // its handler re-reads the deadlines
  return true;
}

void ConnectionCore::written(std::size_t bytes) {
  metrics::traffic.bytes_out += bytes;
  metrics::traffic.queued_bytes -= bytes;
  if (!queue_.consume(bytes)) return;
  wake_reader();
  report_room_if_any();
}

// The broadcaster stopped executing this connection's requests until its
// queue had room for their replies: tell it when there is.
void ConnectionCore::report_room_if_any() {
  if (!report_room_ || !queue_.at_most_half_full() || ending_.stream_closed()) return;
  report_room_ = false;
  tell(inbox_, message(Inbound::Kind::room_for_replies), [](boost::system::error_code) {});
}

void ConnectionCore::reader_finished(const boost::system::error_code& ec) {
  ending_.end_input();
  if (!ending_.reports_input_ended(requests_.quit())) {
    part_finished();
    return;
  }
  std::string ended = transport::is_end_of_input(ec) ? "closed by peer" : ec.message();
  tell(inbox_, message(Inbound::Kind::input_ended, {}, std::move(ended)),
       [self = shared_from_this()](boost::system::error_code) { self->part_finished(); });
}

void ConnectionCore::writer_finished() {
  metrics::traffic.queued_bytes -= queue_.bytes();
  queue_.release();
  part_finished();
}

void ConnectionCore::part_finished() {
  if (!ending_.part_done()) return;
  close_transport();
  tell(inbox_, message(Inbound::Kind::closed), [](boost::system::error_code) {});
}

void ConnectionCore::close_transport() {
  if (!ending_.close_stream()) return;
  if (counted_) --metrics::traffic.open[static_cast<std::size_t>(transport_)];
  counted_ = false;
  close_stream();
  admission_ = AdmissionTicket();  // its descriptor is free: so is its place
  deadlines_.end_reader_throttle();
  wake_writer();
  wake_reader();
  watchdog_.cancel();
}

// Keep-alive, registration deadline, the bound on closing and the throttled
// reader, on one timer that only arm_watchdog sets. Completion handlers
// rather than a coroutine: an idle connection then holds one pending timer
// wait instead of a coroutine's frames (about 1 KB less per connection).
void ConnectionCore::arm_watchdog() {
  if (ending_.stream_closed()) return;
  watchdog_.expires_at(deadlines_.wake_at(Clock::now(), limits_, polls_close()));
  watchdog_.async_wait(exact_size([self = shared_from_this()](boost::system::error_code) { self->on_watchdog(); }));
}

void ConnectionCore::on_watchdog() {
  if (ending_.stream_closed()) return;
  const Deadlines::Due due = deadlines_.take_due(Clock::now(), limits_);
  if (due.wake_reader) wake_reader();
  switch (due.closing) {
    case Deadlines::Due::Closing::expired:
      close_transport();
      return;
    case Deadlines::Due::Closing::check_peer:
      if (peer_has_everything()) close_transport();
      else arm_watchdog();
      return;
    case Deadlines::Due::Closing::no:
      tell_due(due);
      return;
  }
}

// Tells the broadcaster what is due, one message after the other (each
// waiting while the inbox is full), then re-arms.
void ConnectionCore::tell_due(Deadlines::Due due) {
  if (due.registration_deadline) {
    due.registration_deadline = false;
    tell(inbox_, message(Inbound::Kind::registration_deadline),
         [self = shared_from_this(), due](boost::system::error_code) { self->tell_due(due); });
    return;
  }
  if (due.idle != Deadlines::Due::Idle::no) {
    const auto kind = due.idle == Deadlines::Due::Idle::ping ? Inbound::Kind::idle : Inbound::Kind::timed_out;
    tell(inbox_, message(kind), [self = shared_from_this()](boost::system::error_code) { self->arm_watchdog(); });
    return;
  }
  arm_watchdog();
}

}  // namespace corochat::server
