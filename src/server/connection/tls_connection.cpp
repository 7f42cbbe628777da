#include "server/connection/tls_connection.hpp"

#include <array>
#include <span>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>

namespace corochat::server {
namespace {

// What the handshake read from the socket into Asio's BIO pair and OpenSSL
// has not taken yet: a client may send its first requests in the same
// segment as its Finished message. (Asio hands the pair all it reads before
// OpenSSL asks for more, so nothing else is left behind.)
std::string take_unread_input(SSL* session) {
  BIO* pair = SSL_get_rbio(session);
  std::string unread(BIO_ctrl_pending(pair), '\0');
  if (unread.empty()) return unread;
  const int n = BIO_read(pair, unread.data(), static_cast<int>(unread.size()));
  unread.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return unread;
}

// A reference of the connection's own to the stream's session: the stream,
// destroyed once the connection is made, frees its reference.
SSL* share_session(SSL* session) {
  SSL_up_ref(session);
  return session;
}

// Plaintext of one record, filled and written without suspending: SSL_write
// over a SocketBio always completes, so no write is retried from it later.
std::span<char, TlsConnection::record_bytes> thread_record() {
  static thread_local std::array<char, TlsConnection::record_bytes> record;
  return record;
}

}  // namespace

TlsConnection::TlsConnection(transport::TlsStream&& stream, ClientId id, Inbox& inbox, const ConnectionLimits& limits,
                             AdmissionTicket admission)
    : ConnectionCore(stream.get_executor(), id, transport::peer_name(stream), inbox, limits, std::move(admission)),
      context_(stream.shared_context()),
      socket_(std::move(stream.next_layer())),
      socket_bio_(socket_.native_handle(), take_unread_input(stream.native_handle())),
      session_(share_session(stream.native_handle())),
      release_buffers_(socket_.get_executor()) {
  SSL* session = session_.get();
  // Frees Asio's BIO pair; the stream then frees only its unpaired end.
  BIO* bio = socket_bio_.make_bio();
  SSL_set_bio(session, bio, bio);
  // Asio asks OpenSSL to free its record buffers after every record read or
  // written; keep_buffers() gives them back once the connection is quiet.
  SSL_clear_mode(session, SSL_MODE_RELEASE_BUFFERS);
  // One recv takes all that has arrived, not a record header and then its body.
  SSL_set_read_ahead(session, 1);
}

std::shared_ptr<ConnectionCore> make_connection(transport::TlsStream stream, ClientId id, Inbox& inbox,
                                                const ConnectionLimits& limits, AdmissionTicket admission) {
  return std::make_shared<TlsConnection>(std::move(stream), id, inbox, limits, std::move(admission));
}

void TlsConnection::start() {
  boost::system::error_code ignored;  // reads and writes then report would_block, never block
  socket_.non_blocking(true, ignored);
  post_read();
  arm_watchdog();
}

// The error of a failed SSL_read, SSL_write or SSL_shutdown, as Asio's TLS
// stream would report it: a peer that closes TCP without close_notify
// truncates the stream.
boost::system::error_code TlsConnection::session_error(int result) {
  const int error = SSL_get_error(session_.get(), result);
  const unsigned long queued = ERR_peek_error();
  if (error == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  if (socket_bio_.socket_error() != 0)
    return {socket_bio_.socket_error(), asio::error::get_system_category()};
  const bool told_end = (SSL_get_shutdown(session_.get()) & SSL_RECEIVED_SHUTDOWN) != 0;
  if (socket_bio_.saw_end_of_input()) {
    if (told_end) return asio::error::eof;
    return asio::ssl::error::stream_truncated;
  }
  if (error == SSL_ERROR_SSL && queued != 0)
    return {static_cast<int>(queued), asio::error::get_ssl_category()};
  return asio::ssl::error::unexpected_result;
}

// One SSL_read per call, as PlainConnection reads: read first and wait only
// when OpenSSL needs more than the socket has (the reactor is edge-triggered,
// and OpenSSL may hold records already received).
void TlsConnection::read_on() {
  // Never through a closed socket: its descriptor may already be another's.
  if (ending_.stream_closed()) {
    reader_finished(asio::error::operation_aborted);
    return;
  }
  std::span<char> buffer = transport::thread_read_buffer();
  ERR_clear_error();
  const int n = SSL_read(session_.get(), buffer.data(), static_cast<int>(buffer.size()));
  // Reading can make OpenSSL answer (a KeyUpdate) when the socket is full.
  if (socket_bio_.has_unsent() && !waiting_writable_) wake_writer();
  if (n <= 0) {
    const int error = SSL_get_error(session_.get(), n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      const auto wait = error == SSL_ERROR_WANT_READ ? asio::ip::tcp::socket::wait_read
                                                     : asio::ip::tcp::socket::wait_write;
      socket_.async_wait(wait, exact_size([self = self<TlsConnection>()](boost::system::error_code waited) {
                           if (waited) self->reader_finished(waited);
                           else self->read_on();
                         }));
      return;
    }
    const boost::system::error_code ended = session_error(n);
    // The writer's last act waits for the peer's close_notify: there is
    // none to wait for any more.
    if (finishing_) finish_writer();
    reader_finished(ended);
    return;
  }
  keep_buffers();
  handle_read({buffer.data(), static_cast<std::size_t>(n)});
}

// The broadcaster's flush() writes at once, as plain TCP does; lines queued
// while the socket is full go once it has room.
void TlsConnection::flush() {
  if (!write_posted_ && !waiting_writable_) write_queued();
}

// Posted, not called: the broadcaster, the reader or the watchdog is in the
// middle of its work.
void TlsConnection::wake_writer() {
  if (write_posted_ || waiting_writable_ || writer_done_) return;
  write_posted_ = true;
  asio::post(socket_.get_executor(), [self = self<TlsConnection>()] {
    self->write_posted_ = false;
    self->write_queued();
  });
}

void TlsConnection::close_stream() {
  transport::close_now(socket_);
  release_buffers_.cancel();
}

// OpenSSL's read and write buffers (about 17 KB each) stay while the
// connection reads or writes, and go back once it has done neither for a
// whole release_delay: allocating and freeing them on every record, or on
// every burst, made glibc trim the heap and grow it again, a page fault per
// page, on every write.
void TlsConnection::keep_buffers() {
  buffers_used_ = true;
  if (release_armed_ || ending_.stream_closed()) return;
  release_armed_ = true;
  buffers_used_ = false;
  release_buffers_.expires_after(release_delay);
  release_buffers_.async_wait(exact_size([self = self<TlsConnection>()](boost::system::error_code) {
    self->release_armed_ = false;
    if (self->ending_.stream_closed()) return;
    // Not freed while in use, nor while OpenSSL holds bytes not yet read.
    if (self->buffers_used_ || self->socket_bio_.has_unsent() || SSL_free_buffers(self->session_.get()) != 1) {
      self->keep_buffers();
      return;
    }
    self->socket_bio_.release_memory();
  }));
}

// Records of queued lines, each sent as it is made, until the queue is
// empty or the socket full; then a wait for room, whose completion writes
// on. An empty queue ends the run until the next flush() or wake_writer();
// when closing, it sends close_notify and waits for the peer's (which the
// reader sees).
void TlsConnection::write_queued() {
  if (writer_done_) return;
  while (!ending_.stream_closed()) {
    if (socket_bio_.has_unsent()) {
      const boost::system::error_code ec = socket_bio_.flush();
      if (ec == asio::error::would_block) {
        wait_writable();
        return;
      }
      if (ec) {
        close_transport();
        break;
      }
    }
    if (queue_.empty() || close_notify_sent_) {
      if (!ending_.closing() || finishing_) return;  // until the next flush() or wake_writer()
      if (ending_.input_done()) break;               // the peer is gone: closing says the rest
      if (close_notify_sent_) {
        finishing_ = true;  // sent in full: the reader ends the writer
        return;
      }
      ERR_clear_error();
      SSL_shutdown(session_.get());  // 0: sent, the peer's is not in yet; the reader waits for it
      close_notify_sent_ = true;
      continue;
    }
    std::span<char, record_bytes> record = thread_record();
    const std::size_t bytes = queue_.copy_front(record);
    keep_buffers();
    ERR_clear_error();
    const int sent = SSL_write(session_.get(), record.data(), static_cast<int>(bytes));
    if (sent <= 0) {
      close_transport();
      break;
    }
    written(static_cast<std::size_t>(sent));
  }
  finish_writer();
}

void TlsConnection::wait_writable() {
  waiting_writable_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_write, [self = self<TlsConnection>()](boost::system::error_code waited) {
    self->waiting_writable_ = false;
    if (waited) self->close_transport();
    self->write_queued();
  });
}

void TlsConnection::finish_writer() {
  if (writer_done_) return;
  writer_done_ = true;
  writer_finished();
}

}  // namespace corochat::server
