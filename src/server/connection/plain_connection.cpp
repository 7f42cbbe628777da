#include "server/connection/plain_connection.hpp"

#include <span>

#include <boost/asio/post.hpp>

#include "server/transport.hpp"

namespace corochat::server {

PlainConnection::PlainConnection(asio::ip::tcp::socket socket, ClientId id, Inbox& inbox, const ConnectionLimits& limits,
                                 AdmissionTicket admission)
    : ConnectionCore(socket.get_executor(), id, transport::peer_name(socket), inbox, limits, std::move(admission)),
      socket_(std::move(socket)) {}

std::shared_ptr<ConnectionCore> make_connection(asio::ip::tcp::socket socket, ClientId id, Inbox& inbox,
                                                const ConnectionLimits& limits, AdmissionTicket admission) {
  return std::make_shared<PlainConnection>(std::move(socket), id, inbox, limits, std::move(admission));
}

void PlainConnection::start() {
  boost::system::error_code ignored;  // reads and writes then report would_block, never block
  socket_.non_blocking(true, ignored);
  post_read();
  arm_watchdog();
}

// One read per call. A read that makes requests tells them and pauses until
// they are handled and the queue is at most half full; any other read is
// followed by the next one in a later turn of the event loop, so that a peer
// sending nothing but empty lines cannot keep the loop to itself.
void PlainConnection::read_on() {
  // Read first and wait only after would_block: the reactor is
  // edge-triggered and async_wait does not read speculatively, so bytes
  // that arrived while the batch was handled would raise no new event.
  std::span<char> buffer = transport::thread_read_buffer();
  boost::system::error_code ec;
  const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
  if (ec == asio::error::would_block) {
    socket_.async_wait(asio::ip::tcp::socket::wait_read,
                       exact_size([self = self<PlainConnection>()](boost::system::error_code waited) {
                         if (waited) self->reader_finished(waited);
                         else self->read_on();
                       }));
    return;
  }
  if (ec) {
    reader_finished(ec);
    return;
  }
  handle_read({buffer.data(), n});
}

void PlainConnection::flush() {
  if (!flush_posted_ && !waiting_writable_) write_queued();
}

void PlainConnection::wake_writer() {
  if (flush_posted_ || waiting_writable_ || writer_done_) return;
  flush_posted_ = true;
  asio::post(socket_.get_executor(), [self = self<PlainConnection>()] {
    self->flush_posted_ = false;
    self->write_queued();
  });
}

// One non-blocking sendmsg for as many queued lines as fit; it waits for room
// only when the socket buffer is full. The broadcaster's flush() runs it
// directly; the connection's own wake-ups (closing, closed) post it.
void PlainConnection::write_queued() {
  if (writer_done_) return;
  while (!ending_.stream_closed()) {
    if (queue_.empty()) {
      if (!ending_.closing()) return;  // until the next flush() or wake_writer()
      transport::shutdown_sending(socket_);
      break;
    }
    std::span<iovec, transport::max_write_lines> iovecs = transport::thread_iovecs();
    const std::size_t count = queue_.gather(iovecs);
    boost::system::error_code ec;
    const std::size_t sent = transport::send_lines(socket_, iovecs.first(count), ec);
    if (ec == asio::error::would_block) {
      waiting_writable_ = true;
      socket_.async_wait(asio::ip::tcp::socket::wait_write,
                         [self = self<PlainConnection>()](boost::system::error_code waited) {
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
    written(sent);
  }
  writer_done_ = true;
  writer_finished();
}

void PlainConnection::close_stream() { transport::close_now(socket_); }

// A plain TCP close is complete once the last byte and the FIN are sent,
// the peer has acknowledged them, and no input is left unread (closing with
// unread input would reset the connection): waiting on for the peer to
// close its end, up to the close grace, would only keep the place taken.
bool PlainConnection::peer_has_everything() {
  if (!writer_done_) return false;
  boost::system::error_code ec;
  const std::size_t unread = socket_.available(ec);
  return ec || (unread == 0 && transport::unacknowledged_bytes(socket_) == 0);
}

}  // namespace corochat::server
