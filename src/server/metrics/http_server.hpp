// The metrics listener (--metrics): GET /metrics and GET /healthz over
// HTTP/1.1 with Boost.Beast, on chatd's io_context. Its own port and its own
// few connections, apart from the chat's; a scrape renders a snapshot taken
// in one go on the I/O thread, so it never waits for the chat.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "server/metrics/metrics.hpp"

namespace corochat::server::metrics {

class HttpServer {
 public:
  // `snapshot` is called for each GET /metrics; `accepting` for each GET
  // /healthz (200 while true, 503 after). Binds at once; throws if that fails.
  HttpServer(boost::asio::io_context& io, const Endpoint& where, std::function<Snapshot()> snapshot,
             std::function<bool()> accepting);
  ~HttpServer();

  void start();
  // Closes the listener and every open scrape connection.
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Scrapers served at once; more are closed on accept.
  static constexpr std::size_t max_connections = 16;

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::function<Snapshot()> snapshot_;
  std::function<bool()> accepting_;
  std::unordered_set<boost::asio::ip::tcp::socket*> open_;  // closed by stop()
  std::shared_ptr<bool> alive_;  // false once destroyed: sessions still unwinding touch nothing
};

}  // namespace corochat::server::metrics
