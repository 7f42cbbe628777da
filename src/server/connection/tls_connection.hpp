// A TLS connection once its handshake (through Asio's ssl::stream) is done:
// the stream gives up its socket and its OpenSSL session, and the connection
// drives SSL_read and SSL_write itself over a SocketBio, with completion
// handlers and no coroutine frames, as plain TCP's driver does. SSL_write
// sends from OpenSSL's own record buffer straight to the socket; the writer
// copies queued lines into one contiguous record's worth of plaintext first
// (OpenSSL writes one buffer per call). A quiet connection holds none of
// OpenSSL's record buffers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <openssl/ssl.h>

#include "server/connection/core.hpp"
#include "server/tls.hpp"
#include "server/transport.hpp"

namespace corochat::server {

class TlsConnection final : public ConnectionCore {
 public:
  // The most plaintext one TLS record carries.
  static constexpr std::size_t record_bytes = 16 * 1024;
  // How long OpenSSL's record buffers outlast the connection's last read or write.
  static constexpr std::chrono::milliseconds release_delay{1000};

  // `stream` has completed its handshake; it is left without its socket.
  TlsConnection(transport::TlsStream&& stream, ClientId id, Inbox& inbox, const ConnectionLimits& limits,
                AdmissionTicket admission);

  void start() override;
  void flush() override;

 private:
  struct FreeSession {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };

  void close_stream() override;
  void wake_writer() override;

  void read_on() override;
  void write_queued();
  void wait_writable();
  void finish_writer();
  void keep_buffers();
  boost::system::error_code session_error(int result);

  std::shared_ptr<boost::asio::ssl::context> context_;  // the session's context, as it was at the handshake
  boost::asio::ip::tcp::socket socket_;
  SocketBio socket_bio_;
  std::unique_ptr<SSL, FreeSession> session_;
  asio::steady_timer release_buffers_;  // waits only while OpenSSL holds buffers
  bool write_posted_ = false;      // wake_writer posted a write_queued
  bool waiting_writable_ = false;  // waiting for room in the socket buffer
  bool writer_done_ = false;
  bool close_notify_sent_ = false;
  bool finishing_ = false;     // close_notify is sent: the writer waits for the peer's
  bool buffers_used_ = false;  // read or written since release_buffers_ was set
  bool release_armed_ = false;
};

std::shared_ptr<ConnectionCore> make_connection(transport::TlsStream stream, ClientId id, Inbox& inbox,
                                                const ConnectionLimits& limits, AdmissionTicket admission);

}  // namespace corochat::server
