// A TLS connection, driven by a reader coroutine and a writer of completion
// handlers that flush() starts directly, as plain TCP's does. OpenSSL, not
// the socket, holds what is ready to read, so the reader keeps a buffer of
// its own. The writer copies queued lines into one contiguous chunk of a full
// TLS record (Asio's ssl::stream would otherwise linearise a gathered write
// into records of at most 8 KiB). A quiet connection holds neither that
// chunk nor OpenSSL's record buffers.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/connection/core.hpp"
#include "server/transport.hpp"

namespace corochat::server {

class TlsConnection final : public ConnectionCore {
 public:
  // The most plaintext one TLS record carries.
  static constexpr std::size_t record_bytes = 16 * 1024;
  // How long OpenSSL's record buffers outlast the connection's last read or write.
  static constexpr std::chrono::milliseconds release_delay{1000};

  TlsConnection(transport::TlsStream stream, ClientId id, Inbox& inbox, const ConnectionLimits& limits,
                AdmissionTicket admission);

  void start() override;
  void flush() override;

 private:
  void close_stream() override;
  void wake_writer() override;
  void wake_reader() override;

  asio::awaitable<void> read_loop();
  void write_queued();
  void finish_writer();
  void keep_buffers();
  asio::awaitable<void> wait_to_read();

  transport::TlsStream stream_;
  asio::steady_timer release_buffers_;  // waits only while OpenSSL holds buffers
  // A timer set to "never": the paused or throttled reader waits on it, and
  // the rest of the connection cancels it to wake it.
  asio::steady_timer wake_reader_;
  std::unique_ptr<char[]> chunk_;  // what the writer writes from; kept as long as OpenSSL's buffers
  bool writing_ = false;        // a write or the close_notify is under way
  bool write_posted_ = false;   // wake_writer posted a write_queued
  bool writer_done_ = false;
  bool reader_waiting_ = false;
  bool buffers_used_ = false;   // read or written since release_buffers_ was set
  bool release_armed_ = false;
  bool finishing_ = false;  // the writer has sent all and waits for the peer's close_notify
};

std::shared_ptr<ConnectionCore> make_connection(transport::TlsStream stream, ClientId id, Inbox& inbox,
                                                const ConnectionLimits& limits, AdmissionTicket admission);

}  // namespace corochat::server
