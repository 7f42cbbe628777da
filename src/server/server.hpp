// chatd wired together: listeners, sessions, the broadcaster and the signals
// that end it all.
#pragma once

#include <chrono>
#include <functional>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/context.hpp>

#include "server/admission.hpp"
#include "server/broadcaster.hpp"
#include "server/config.hpp"
#include "server/descriptors.hpp"
#include "server/inbox.hpp"
#include "server/options.hpp"
#include "server/metrics/http_server.hpp"
#include "server/metrics/metrics.hpp"
#include "server/store/history_store.hpp"

namespace corochat::server {

class Server {
 public:
  // Opens the history store (store::StoreError names the path when it cannot)
  // and binds the listening sockets; throws if that fails.
  Server(boost::asio::io_context& io, ServerConfig options);

  // Starts accepting; the io_context's run() returns after shutdown.
  ~Server();
  void start();
  // What SIGHUP reads: the configuration file and command line again. The
  // settings that can change live are applied (see take_live_settings); the
  // others are compared with `as_read` (the configuration before chatd fitted
  // it to the system) and logged when they changed. Without it, SIGHUP only
  // reloads the TLS certificate.
  using Reread = std::function<Loaded()>;
  void reload_with(ServerConfig as_read, Reread reread);
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;
  std::vector<boost::asio::ip::tcp::endpoint> tls_endpoints() const;
  // Where /metrics is served; none without --metrics.
  std::optional<boost::asio::ip::tcp::endpoint> metrics_endpoint() const;
  // Every counter at this instant, for /metrics.
  metrics::Snapshot snapshot() const;

 private:
  using Acceptors = std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>>;
  boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor, bool tls);
  boost::asio::awaitable<void> tls_handshake(boost::asio::ip::tcp::socket socket, AdmissionTicket ticket);
  template <class Stream>
  boost::asio::awaitable<void> open_session(Stream stream, AdmissionTicket ticket);
  boost::asio::awaitable<void> wait_for_signal();
  boost::asio::awaitable<void> report_stats_on_signal();
  boost::asio::awaitable<void> refuse(boost::asio::ip::tcp::socket socket, Refusal why, bool tls);
  void refuse_at_once(boost::asio::ip::tcp::socket& socket, bool tls);
  void report_shortage(const std::string& what);
  void report_handshake_failure(const std::string& peer, const std::string& how);
  boost::asio::awaitable<void> wait_for_reload();
  boost::asio::awaitable<void> reload();
  void reload_tls();
  boost::asio::awaitable<void> feed_watchdog(std::chrono::microseconds interval);
  void listen(const std::string& port, Acceptors& into);
  void listen_on(const boost::asio::ip::tcp::endpoint& endpoint, Acceptors& into);

  boost::asio::io_context& io_;
  ServerConfig options_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set stats_signal_;  // SIGUSR1: one line of counts and heap use
  boost::asio::signal_set reload_signals_;  // SIGHUP: reload the configuration
  Reread reread_;
  ServerConfig as_read_;  // the configuration read last, before fitting it to the system
  boost::asio::steady_timer watchdog_timer_;  // WATCHDOG=1 to systemd, when it asks
  Inbox inbox_;
  // Before the broadcaster, which uses it; none with --store memory.
  std::unique_ptr<store::HistoryStore> store_;
  std::unique_ptr<Broadcaster> broadcaster_;
  Acceptors acceptors_;
  Acceptors tls_acceptors_;
  // Replaced whole on reload; each TLS connection keeps the one it began with.
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  // Their sockets, so that shutdown need not wait out the handshake timeout.
  std::unordered_set<boost::asio::ip::tcp::socket*> handshake_sockets_;
  bool stopping_ = false;   // a signal asked for shutdown
  std::shared_ptr<Admission> admission_;  // shared with the sessions' tickets
  std::size_t refusing_ = 0;               // refused connections still being told why
  descriptors::Spare spare_;               // given up to answer a peer when descriptors run out
  // Said at most once every few seconds, with a count: peers can cause them
  // as fast as they can connect.
  log::Throttle shortage_log_;
  log::Throttle handshake_log_;
  ClientId next_client_ = 1;
  bool finished_ = false;  // the broadcaster is done: every connection is closed
  // For /metrics, by metrics::RefusalReason.
  std::array<std::uint64_t, metrics::refusal_reasons> refusals_{};
  std::uint64_t tls_handshake_failures_ = 0;
  std::unique_ptr<metrics::HttpServer> metrics_server_;  // with --metrics
};

}  // namespace corochat::server
