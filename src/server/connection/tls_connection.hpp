// A TLS connection, driven by a reader and a writer coroutine. OpenSSL, not
// the socket, holds what is ready to read, so the reader keeps a buffer of
// its own. The writer copies queued lines into one contiguous chunk of a full
// TLS record (Asio's ssl::stream would otherwise linearise a gathered write
// into records of at most 8 KiB), and frees it whenever the queue is empty.
#pragma once

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

  TlsConnection(transport::TlsStream stream, ClientId id, Inbox& inbox, const ConnectionLimits& limits,
                AdmissionTicket admission);

  void start() override;
  void flush() override { wake_writer(); }

 private:
  void close_stream() override { transport::close_now(stream_); }
  void wake_writer() override;
  void wake_reader() override;

  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> wait_to_read();

  transport::TlsStream stream_;
  // Timers set to "never": the reader or the writer waits on its own, and
  // the rest of the connection cancels it to wake it.
  asio::steady_timer wake_writer_;
  asio::steady_timer wake_reader_;
  std::unique_ptr<char[]> chunk_;  // what the writer is writing; none while the queue is empty
  bool writer_waiting_ = false;
  bool reader_waiting_ = false;
  bool finishing_ = false;  // the writer has sent all and waits for the peer's close_notify
};

std::shared_ptr<ConnectionCore> make_connection(transport::TlsStream stream, ClientId id, Inbox& inbox,
                                                const ConnectionLimits& limits, AdmissionTicket admission);

}  // namespace corochat::server
