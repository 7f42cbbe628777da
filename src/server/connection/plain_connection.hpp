// A plain TCP connection, driven by completion handlers rather than
// coroutines: an idle one holds its watchdog's and its reader's pending waits
// and no coroutine frames. It reads the reactor way (read first, wait only
// after would_block) into the thread's shared buffer, and writes with one
// non-blocking sendmsg of as many queued lines as IOV_MAX allows.
#pragma once

#include <cstdint>
#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "server/connection/core.hpp"

namespace corochat::server {

class PlainConnection final : public ConnectionCore {
 public:
  PlainConnection(boost::asio::ip::tcp::socket socket, ClientId id, Inbox& inbox, const ConnectionLimits& limits,
                  AdmissionTicket admission);

  void start() override;
  void flush() override;

 private:
  void close_stream() override;
  void wake_writer() override;
  bool peer_has_everything() override;
  bool polls_close() const override { return true; }

  void read_on() override;
  void write_queued();

  boost::asio::ip::tcp::socket socket_;
  bool flush_posted_ = false;      // a write_queued is posted: lines delivered until it runs leave in the same sendmsg
  bool waiting_writable_ = false;  // waiting for room in the socket buffer
  bool writer_done_ = false;
};

std::shared_ptr<ConnectionCore> make_connection(boost::asio::ip::tcp::socket socket, ClientId id, Inbox& inbox,
                                                const ConnectionLimits& limits, AdmissionTicket admission);

}  // namespace corochat::server
