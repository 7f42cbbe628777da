// chatd wired together: listeners, sessions, the broadcaster and the signals
// that end it all.
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include "corochat/server/admission.hpp"
#include "server/broadcaster.hpp"
#include "server/inbox.hpp"
#include "server/options.hpp"

namespace corochat::server {

class Server {
 public:
  // Binds the listening sockets; throws if that fails.
  Server(boost::asio::io_context& io, ServerOptions options);

  // Starts accepting; the io_context's run() returns after shutdown.
  void start();
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;

 private:
  boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor);
  boost::asio::awaitable<void> wait_for_signal();
  boost::asio::awaitable<void> report_stats_on_signal();
  boost::asio::awaitable<void> refuse(boost::asio::ip::tcp::socket socket, Refusal why);
  void listen_on(const boost::asio::ip::tcp::endpoint& endpoint);

  boost::asio::io_context& io_;
  ServerOptions options_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set stats_signal_;  // SIGUSR1: one line of counts and heap use
  Inbox inbox_;
  Broadcaster broadcaster_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::shared_ptr<Admission> admission_;  // shared with the sessions' tickets
  std::size_t refusing_ = 0;               // refused connections still being told why
  ClientId next_client_ = 1;
  bool finished_ = false;  // the broadcaster is done: every connection is closed
};

}  // namespace corochat::server
