#include "server/connection/tls_connection.hpp"

#include <array>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include "corochat/use_tuple.hpp"
#include "server/log.hpp"

namespace corochat::server {

TlsConnection::TlsConnection(transport::TlsStream stream, ClientId id, Inbox& inbox, const ConnectionLimits& limits,
                             AdmissionTicket admission)
    : ConnectionCore(stream.get_executor(), id, transport::peer_name(stream), inbox, limits, std::move(admission)),
      stream_(std::move(stream)),
      release_buffers_(stream_.get_executor()),
      wake_reader_(stream_.get_executor(), Clock::time_point::max()) {
  // Asio asks OpenSSL to free its record buffers after every record read or
  // written; keep_buffers() gives them back once the connection is quiet.
  SSL_clear_mode(stream_.native_handle(), SSL_MODE_RELEASE_BUFFERS);
}

std::shared_ptr<ConnectionCore> make_connection(transport::TlsStream stream, ClientId id, Inbox& inbox,
                                                const ConnectionLimits& limits, AdmissionTicket admission) {
  return std::make_shared<TlsConnection>(std::move(stream), id, inbox, limits, std::move(admission));
}

void TlsConnection::start() {
  auto self = this->self<TlsConnection>();
  asio::co_spawn(stream_.get_executor(), [self] { return self->read_loop(); }, log_failure("TLS reader"));
  arm_watchdog();
}

// The broadcaster's flush() writes at once, as plain TCP does; lines queued
// while a write is under way go with the next one.
void TlsConnection::flush() {
  if (!writing_ && !write_posted_) write_queued();
}

// Posted, not called: the broadcaster or the watchdog is in the middle of its work.
void TlsConnection::wake_writer() {
  if (writing_ || write_posted_ || writer_done_) return;
  write_posted_ = true;
  asio::post(stream_.get_executor(), [self = self<TlsConnection>()] {
    self->write_posted_ = false;
    self->write_queued();
  });
}

void TlsConnection::close_stream() {
  transport::close_now(stream_);
  release_buffers_.cancel();
}

// OpenSSL's read and write buffers (about 17 KB each) and the writer's chunk
// stay while the connection reads or writes, and go back once it has done
// neither for a whole release_delay: allocating and freeing them on every
// record, or on every burst, made glibc trim the heap and grow it again, a
// page fault per page, on every write.
void TlsConnection::keep_buffers() {
  buffers_used_ = true;
  if (release_armed_ || ending_.stream_closed()) return;
  release_armed_ = true;
  buffers_used_ = false;
  release_buffers_.expires_after(release_delay);
  release_buffers_.async_wait(exact_size([self = self<TlsConnection>()](boost::system::error_code) {
    self->release_armed_ = false;
    if (self->ending_.stream_closed()) return;
    // Not freed while in use, nor while OpenSSL holds bytes not yet read or sent.
    if (self->buffers_used_ || self->writing_ || SSL_free_buffers(self->stream_.native_handle()) != 1) {
      self->keep_buffers();
      return;
    }
    self->chunk_.reset();
  }));
}

void TlsConnection::wake_reader() {
  if (reader_waiting_) wake_reader_.cancel();
}

asio::awaitable<void> TlsConnection::wait_to_read() {
  reader_waiting_ = true;
  co_await wake_reader_.async_wait(use_tuple);
  reader_waiting_ = false;
}

asio::awaitable<void> TlsConnection::read_loop() {
  std::array<char, 4096> buffer;
  boost::system::error_code ended;
  for (;;) {
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buffer), use_tuple);
    if (ec) {
      ended = ec;
      break;
    }
    keep_buffers();
    ReadStep step = read({buffer.data(), n});
    if (step.kind == ReadStep::Kind::post_batch) {
      co_await post_batch(std::move(step.batch), use_tuple);
      // One batch in flight; and a client that sends faster than it reads
      // its replies is not read on until its queue is back under half.
      while (!may_read_on()) co_await wait_to_read();
      step = after_batch();
    }
    if (throttle_reader(step))
      while (reader_throttled()) co_await wait_to_read();
  }
  // The writer's last act waits for the peer's close_notify: there is none
  // to wait for any more.
  if (finishing_) close_transport();
  reader_finished(ended);
}

// One write of one record's worth of queued lines at a time; its completion
// writes the next. An empty queue ends the run until the next flush() or
// wake_writer(); when closing, it sends close_notify and waits for the peer's.
void TlsConnection::write_queued() {
  if (writer_done_ || writing_) return;
  if (ending_.stream_closed()) {
    finish_writer();
    return;
  }
  if (queue_.empty()) {
    if (!ending_.closing()) return;
    if (ending_.input_done()) {  // the peer is gone: closing says the rest
      finish_writer();
      return;
    }
    finishing_ = true;
    writing_ = true;
    stream_.async_shutdown([self = self<TlsConnection>()](boost::system::error_code) {
      self->writing_ = false;
      self->finish_writer();
    });
    return;
  }
  if (!chunk_) chunk_ = std::make_unique_for_overwrite<char[]>(record_bytes);
  const std::size_t bytes = queue_.copy_front({chunk_.get(), record_bytes});
  writing_ = true;
  keep_buffers();
  asio::async_write(stream_, asio::buffer(chunk_.get(), bytes),
                    [self = self<TlsConnection>()](boost::system::error_code ec, std::size_t sent) {
                      self->writing_ = false;
                      if (ec) {
                        self->close_transport();
                        self->finish_writer();
                        return;
                      }
                      self->written(sent);
                      self->write_queued();
                    });
}

void TlsConnection::finish_writer() {
  if (writer_done_) return;
  writer_done_ = true;
  chunk_.reset();
  writer_finished();
}

}  // namespace corochat::server
