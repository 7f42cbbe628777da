#include "server/tls.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/error.hpp>

#include <openssl/ssl.h>

namespace corochat::server {
namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> load_tls_context(const TlsListenerConfig& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Client-initiated renegotiation costs the server a handshake for free.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  // Idle connections give their read and write buffers back.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);

  boost::system::error_code ec;
  context->use_certificate_chain_file(options.cert_file, ec);
  if (ec) throw std::runtime_error("TLS certificate " + options.cert_file + ": " + ec.message());
  context->use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("TLS key " + options.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("TLS key " + options.key_file + " does not match the certificate " + options.cert_file);
  return context;
}

namespace {

// One non-blocking send; the bytes sent, 0 when the socket is full, -1 with
// errno on failure.
ssize_t send_some(int fd, const char* data, std::size_t length) {
  for (;;) {
    const ssize_t sent = ::send(fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent >= 0) return sent;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

}  // namespace

SocketBio::SocketBio(int fd, std::string earlier_input) : fd_(fd), earlier_input_(std::move(earlier_input)) {}

const BIO_METHOD* SocketBio::method() {
  static BIO_METHOD* const made = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "corochat socket");
    if (!m || BIO_meth_set_write(m, &SocketBio::write) != 1 || BIO_meth_set_read(m, &SocketBio::read) != 1 ||
        BIO_meth_set_ctrl(m, &SocketBio::control) != 1 ||
        BIO_meth_set_create(m, [](BIO* bio) { BIO_set_init(bio, 1); return 1; }) != 1)
      throw std::runtime_error("OpenSSL cannot make a BIO method");
    return m;
  }();
  return made;
}

BIO* SocketBio::make_bio() {
  BIO* bio = BIO_new(method());
  if (!bio) throw std::bad_alloc();
  BIO_set_data(bio, this);
  return bio;
}

// Everything is taken: sent now, or kept after what is already waiting.
int SocketBio::write(BIO* bio, const char* data, int length) {
  auto* self = static_cast<SocketBio*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (self->socket_error_ != 0 || length < 0) return -1;
  const auto total = static_cast<std::size_t>(length);
  std::size_t sent = 0;
  if (!self->has_unsent()) {
    const ssize_t n = send_some(self->fd_, data, total);
    if (n < 0) {
      self->socket_error_ = errno;
      return -1;
    }
    sent = static_cast<std::size_t>(n);
  }
  if (sent < total) self->unsent_.append(data + sent, total - sent);
  return length;
}

int SocketBio::read(BIO* bio, char* out, int length) {
  auto* self = static_cast<SocketBio*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (length <= 0) return 0;
  if (self->earlier_from_ < self->earlier_input_.size()) {
    const std::size_t n = std::min<std::size_t>(length, self->earlier_input_.size() - self->earlier_from_);
    std::memcpy(out, self->earlier_input_.data() + self->earlier_from_, n);
    self->earlier_from_ += n;
    if (self->earlier_from_ == self->earlier_input_.size()) {
      std::string().swap(self->earlier_input_);
      self->earlier_from_ = 0;
    }
    return static_cast<int>(n);
  }
  for (;;) {
    const ssize_t n = ::recv(self->fd_, out, static_cast<std::size_t>(length), 0);
    if (n > 0) return static_cast<int>(n);
    if (n == 0) {
      self->end_of_input_ = true;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_read(bio);
      return -1;
    }
    self->socket_error_ = errno;
    return -1;
  }
}

long SocketBio::control(BIO*, int command, long, void*) {
  // Records are sent as they are written: there is never anything to flush
  // on OpenSSL's request (flush() is the writer's own).
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

boost::system::error_code SocketBio::flush() {
  while (has_unsent()) {
    const ssize_t n = send_some(fd_, unsent_.data() + unsent_from_, unsent_bytes());
    if (n < 0) {
      socket_error_ = errno;
      return {socket_error_, boost::asio::error::get_system_category()};
    }
    if (n == 0) return boost::asio::error::would_block;
    unsent_from_ += static_cast<std::size_t>(n);
  }
  unsent_.clear();
  unsent_from_ = 0;
  return {};
}

void SocketBio::release_memory() {
  if (!has_unsent()) std::string().swap(unsent_);
}

}  // namespace corochat::server
