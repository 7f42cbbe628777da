// The server's TLS context, loaded from PEM files at start and on SIGHUP, and
// the BIO through which an established TLS connection reaches its socket.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/bio.h>

#include "server/config.hpp"

namespace corochat::server {

// TLS 1.2 at least (1.3 is preferred by OpenSSL whenever both ends have it),
// OpenSSL's default ciphers, no renegotiation. Throws std::runtime_error
// naming the file when the certificate or key cannot be used.
std::shared_ptr<boost::asio::ssl::context> load_tls_context(const TlsListenerConfig& options);

// What OpenSSL reads and writes once the handshake is done: a non-blocking
// socket, reached directly. A record OpenSSL writes goes to the socket from
// OpenSSL's own buffer in one send; what the socket cannot take at once is
// kept here, in order, until flush() sends it. So a write never waits and
// never leaves a record half written inside OpenSSL: a record OpenSSL writes
// on its own while reading (the answer to a TLS 1.3 KeyUpdate) can never
// collide with one the writer left unsent, and the writer writes again only
// once flush() has sent everything.
//
// Input starts with whatever was read from the socket before (during the
// handshake) and not yet given to OpenSSL, then comes from the socket.
class SocketBio {
 public:
  SocketBio(int fd, std::string earlier_input);
  SocketBio(const SocketBio&) = delete;
  SocketBio& operator=(const SocketBio&) = delete;

  // A new BIO over *this, for SSL_set_bio: the SSL owns the BIO, which must
  // not outlive *this.
  BIO* make_bio();

  // Sends what is kept. Empty error: all sent; would_block: the socket is
  // full again; anything else: the socket failed.
  boost::system::error_code flush();
  bool has_unsent() const { return unsent_from_ < unsent_.size(); }
  std::size_t unsent_bytes() const { return unsent_.size() - unsent_from_; }
  // Gives back the memory of an empty output buffer (a quiet connection).
  void release_memory();

  // Why the last read or write failed: the socket's error, or end of input.
  bool saw_end_of_input() const { return end_of_input_; }
  int socket_error() const { return socket_error_; }

 private:
  static int write(BIO* bio, const char* data, int length);
  static int read(BIO* bio, char* out, int length);
  static long control(BIO* bio, int command, long number, void* pointer);
  static const BIO_METHOD* method();

  int fd_;
  std::string earlier_input_;
  std::size_t earlier_from_ = 0;
  std::string unsent_;
  std::size_t unsent_from_ = 0;
  int socket_error_ = 0;
  bool end_of_input_ = false;
};

}  // namespace corochat::server
