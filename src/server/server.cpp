#include "server/server.hpp"

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <malloc.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "corochat/protocol/events.hpp"
#include "corochat/use_tuple.hpp"
#include "server/connection/plain_connection.hpp"
#include "server/connection/tls_connection.hpp"
#include "server/log.hpp"
#include "server/service.hpp"
#include "server/store/sqlite_history_store.hpp"
#include "server/tls.hpp"

namespace corochat::server {
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr std::size_t inbox_capacity = 4096;
// A refused connection is let go once its peer has acknowledged the two
// lines, within this grace; no more than ServerConfig::max_refusing are told
// at once (the rest are just closed).
constexpr auto refusal_grace = std::chrono::seconds(2);
constexpr auto refusal_poll_limit = std::chrono::milliseconds(50);
constexpr auto repeated_warning_interval = std::chrono::seconds(10);

AdmissionConfig admission_config(const ServerConfig& options) {
  AdmissionConfig config = options.admission;
  config.max_clients = options.state.max_clients;
  return config;
}

StateConfig broadcaster_config(const ServerConfig& options) {
  StateConfig config = options.state;
  config.max_clients = SIZE_MAX;  // the listener's to enforce
  return config;
}

std::unique_ptr<store::HistoryStore> open_store(const StoreConfig& config) {
  if (config.kind == StoreKind::memory) return nullptr;
  store::SqliteStoreOptions options;
  options.data_dir = config.data_dir;
  options.sync = config.sync;
  options.retention = config.retention;
  auto opened = std::make_unique<store::SqliteHistoryStore>(std::move(options));
  if (config.max_pages > 0) opened->set_max_page_count(config.max_pages);
  return opened;
}

std::unique_ptr<Broadcaster> make_broadcaster(Inbox& inbox, StateConfig config, store::HistoryStore* store) {
  if (!store) return std::make_unique<Broadcaster>(inbox, std::move(config));
  return std::make_unique<Broadcaster>(inbox, std::move(config), *store);
}

std::string refusal_lines(Refusal why) {
  return *protocol::serialize_line(protocol::event::error(protocol::ErrorCode::server_full, to_string(why))) +
         *protocol::serialize_line(protocol::event::bye(protocol::ByeReason::server_full));
}

// Reads and drops what the peer has sent, without waiting: closing with
// unread input would reset the connection. False once the peer has closed
// or the socket failed. Bounded per call, against a peer that floods.
bool drain_input(tcp::socket& socket) {
  std::array<char, 4096> sink;
  for (int i = 0; i < 16; ++i) {
    boost::system::error_code ec;
    socket.read_some(asio::buffer(sink), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return true;
    if (ec) return false;
  }
  return true;
}

// The lines in one non-blocking send: a new socket's buffer always has room.
bool send_at_once(tcp::socket& socket, const std::string& lines) {
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (ec) return false;
  const std::size_t sent = socket.send(asio::buffer(lines), 0, ec);
  return !ec && sent == lines.size();
}

metrics::RefusalReason refusal_reason(Refusal why) {
  switch (why) {
    case Refusal::too_many_connections: return metrics::RefusalReason::too_many_connections;
    case Refusal::connecting_too_fast: return metrics::RefusalReason::connecting_too_fast;
    case Refusal::server_full:
    case Refusal::none: break;
  }
  return metrics::RefusalReason::server_full;
}

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system;
}

// "0.0.0.0:7000", "[::]:7000"
std::string endpoint_text(const tcp::endpoint& endpoint) {
  const std::string address = endpoint.address().to_string();
  return (endpoint.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(endpoint.port());
}

// "address already in use": the system's message, as a clause.
std::string plain_words(const boost::system::error_code& ec) {
  if (!ec) return "no address found";
  std::string text = ec.message();
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' && !(text.size() > 1 && text[1] >= 'A' && text[1] <= 'Z'))
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

// Gives back one count when it ends (the listener took it, so that a burst
// of accepts sees it before the refusal's coroutine first runs).
class Uncount {
 public:
  explicit Uncount(std::size_t& count) : count_(count) {}
  ~Uncount() { --count_; }
  Uncount(const Uncount&) = delete;
  Uncount& operator=(const Uncount&) = delete;

 private:
  std::size_t& count_;
};
}

Server::Server(asio::io_context& io, ServerConfig options)
    : io_(io),
      options_(std::move(options)),
      signals_(io, SIGINT, SIGTERM),
      stats_signal_(io, SIGUSR1),
      reload_signals_(io),
      watchdog_timer_(io),
      inbox_(io, inbox_capacity),
      store_(open_store(options_.store)),
      broadcaster_(make_broadcaster(inbox_, broadcaster_config(options_), store_.get())),
      admission_(std::make_shared<Admission>(admission_config(options_))),
      shortage_log_(repeated_warning_interval),
      handshake_log_(repeated_warning_interval) {
  if (options_.plain) listen(options_.port, acceptors_);
  if (options_.tls.enabled()) {
    tls_context_ = load_tls_context(options_.tls);
    listen(options_.tls.port, tls_acceptors_);
  }
  // Always: service managers and log rotation send it to any daemon, and its
  // default action would end chatd without a bye.
  reload_signals_.add(SIGHUP);
  if (options_.metrics)
    metrics_server_ = std::make_unique<metrics::HttpServer>(
        io_, *options_.metrics, [this] { return snapshot(); }, [this] { return !stopping_; });
}

std::optional<tcp::endpoint> Server::metrics_endpoint() const {
  if (!metrics_server_) return std::nullopt;
  return metrics_server_->local_endpoint();
}

// Read in one go on the I/O thread: the counters are plain integers that only
// this thread writes. Costs the same with 10 000 connections as with one.
metrics::Snapshot Server::snapshot() const {
  metrics::Snapshot s;
  s.accepting = !stopping_;
  s.connections = metrics::traffic.open;
  s.tls_handshakes = handshake_sockets_.size();
  s.clients = broadcaster_->registered_clients();
  s.rooms = broadcaster_->stats().rooms;
  const auto& state = broadcaster_->state_counts();
  s.room_messages = state.room_messages;
  s.private_messages = state.private_messages;
  s.reply_limited = state.reply_limited;
  const auto& counted = broadcaster_->counters();
  s.deliveries = counted.deliveries;
  s.slow_consumers = counted.slow_consumers;
  s.flood_limited = counted.rate_limited;
  s.bytes_in = metrics::traffic.bytes_in;
  s.bytes_out = metrics::traffic.bytes_out;
  s.queued_bytes = metrics::traffic.queued_bytes;
  s.refusals = refusals_;
  s.tls_handshake_failures = tls_handshake_failures_;
  s.store = store_ != nullptr;
  s.store_commits = counted.store_commits;
  s.store_failures = counted.store_failures;
  s.commit_latency = counted.commit_latency;
  s.process = metrics::read_process_stats();
  return s;
}

void Server::listen(const std::string& port, Acceptors& into) {
  tcp::resolver resolver(io_);
  boost::system::error_code ec;
  auto results = resolver.resolve(options_.host, port, tcp::resolver::passive, ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot listen on " + options_.host + " port " + port + ": " + plain_words(ec));
  // The first address the host names; "::" covers IPv4 as well.
  listen_on(results.begin()->endpoint(), into);
}

// The steps of listening with the one that failed said in plain words, and
// no source location: "cannot listen on 0.0.0.0:7000: address already in use".
void Server::listen_on(const tcp::endpoint& endpoint, Acceptors& into) {
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  boost::system::error_code ec;
  auto fail = [&endpoint](const boost::system::error_code& why) {
    return std::runtime_error("cannot listen on " + endpoint_text(endpoint) + ": " + plain_words(why));
  };
  if (acceptor->open(endpoint.protocol(), ec); ec) throw fail(ec);
  acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (endpoint.address().is_v6()) {
    boost::system::error_code ignored;  // dual stack where the OS allows it
    acceptor->set_option(asio::ip::v6_only(false), ignored);
  }
  if (acceptor->bind(endpoint, ec); ec) throw fail(ec);
  if (acceptor->listen(asio::socket_base::max_listen_connections, ec); ec) throw fail(ec);
  into.push_back(std::move(acceptor));
}

std::vector<tcp::endpoint> Server::local_endpoints() const {
  std::vector<tcp::endpoint> endpoints;
  for (const auto& a : acceptors_) endpoints.push_back(a->local_endpoint());
  return endpoints;
}

std::vector<tcp::endpoint> Server::tls_endpoints() const {
  std::vector<tcp::endpoint> endpoints;
  for (const auto& a : tls_acceptors_) endpoints.push_back(a->local_endpoint());
  return endpoints;
}

// Whatever the store still has to do is done before it goes.
Server::~Server() {
  if (store_) store_->close();
}

void Server::start() {
  // After shutdown every coroutine ends on its own and io_context::run returns.
  // A broadcaster that fails cannot serve anyone: stop at once.
  asio::co_spawn(io_, broadcaster_->run(), [this](std::exception_ptr failure) {
    finished_ = true;   // checked before every wait for a signal, then
    signals_.cancel();  // wakes the one pending: nothing is left to wait for
    stats_signal_.cancel();
    reload_signals_.cancel();
    watchdog_timer_.cancel();
    if (metrics_server_) metrics_server_->stop();
    if (!failure) return;
    log_failure("broadcaster")(failure);
    io_.stop();
  });
  asio::co_spawn(io_, wait_for_signal(), log_failure("signal handler"));
  asio::co_spawn(io_, report_stats_on_signal(), log_failure("stats"));
  for (auto& acceptor : acceptors_) asio::co_spawn(io_, accept_loop(*acceptor, false), log_failure("listener"));
  for (auto& acceptor : tls_acceptors_) asio::co_spawn(io_, accept_loop(*acceptor, true), log_failure("TLS listener"));
  asio::co_spawn(io_, wait_for_reload(), log_failure("reload handler"));
  if (metrics_server_) metrics_server_->start();
  if (const auto interval = service::watchdog_interval(); interval.count() > 0)
    asio::co_spawn(io_, feed_watchdog(interval), log_failure("watchdog"));
}

// WATCHDOG=1 twice per interval, from the event loop itself: a loop that
// stalls stops feeding it and systemd restarts chatd.
// Fed through shutdown too (TimeoutStopSec= bounds that); the broadcaster's
// end cancels the wait, so that run() returns at once.
asio::awaitable<void> Server::feed_watchdog(std::chrono::microseconds interval) {
  while (!finished_) {
    service::watchdog_alive();
    watchdog_timer_.expires_after(interval / 2);
    co_await watchdog_timer_.async_wait(use_tuple);
  }
}

asio::awaitable<void> Server::accept_loop(tcp::acceptor& acceptor, bool tls) {
  asio::steady_timer backoff(io_);
  while (acceptor.is_open()) {
    // Named, not a structured binding: GCC 12 destroys a structured binding of a
    // non-trivial co_await result twice.
    std::tuple<boost::system::error_code, tcp::socket> accepted = co_await acceptor.async_accept(use_tuple);
    auto& [ec, socket] = accepted;
    if (ec == asio::error::operation_aborted) break;
    if (!acceptor.is_open()) break;  // shutdown began while this accept completed
    if (ec) {
      // Out of descriptors, the peer would wait unanswered in the backlog:
      // free the spare, so that the next accept takes it and can say no.
      if (out_of_descriptors(ec) && spare_.held()) {
        spare_.give_up();
        continue;
      }
      spare_.take_back();  // in case a descriptor came free meanwhile
      report_shortage("accept failed: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (!spare_.held()) {
      // Accepted with the spare's descriptor: there is none to keep it with.
      // (No address in the line: at the default level the log holds none.)
      refuse_at_once(socket, tls);
      spare_.take_back();
      report_shortage("out of descriptors: a connection refused at once");
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    // The limits come first, before a TLS handshake costs anything.
    const auto key = admission_->network_of(socket.remote_endpoint(ignored).address());
    if (const Refusal refusal = admission_->admit(key, std::chrono::steady_clock::now()); refusal != Refusal::none) {
      ++refusals_[static_cast<std::size_t>(refusal_reason(refusal))];
      log::info("refused ", transport::peer_name(socket), ": ", to_string(refusal));
      // A TLS peer could not read a plain refusal: one over its address's
      // limits is just closed; a full server is worth a handshake to say so.
      const bool tell = !tls || refusal == Refusal::server_full;
      if (tell && refusing_ < options_.max_refusing) {
        ++refusing_;  // given back by the refusal
        asio::co_spawn(io_, refuse(std::move(socket), refusal, tls), log_failure("refusal"));
      }
      continue;  // a socket not handed on closes here
    }
    AdmissionTicket ticket(admission_, key);
    if (log::enabled(log::Level::debug))
      log::debug("accepted ", transport::peer_name(socket), tls ? " on the TLS port" : "");
    if (!tls) {
      co_await open_session(std::move(socket), std::move(ticket));
      continue;
    }
    // Handshakes run beside the accept loop, so a slow one delays nobody.
    // Each holds its ticket, so they count toward max_clients.
    asio::co_spawn(io_, tls_handshake(std::move(socket), std::move(ticket)), log_failure("TLS handshake"));
  }
}

// Running out of descriptors repeats for every connection while it lasts:
// one line every few seconds, with a count, rather than one each.
void Server::report_shortage(const std::string& what) {
  std::size_t folded = 0;
  if (!shortage_log_.due(std::chrono::steady_clock::now(), folded)) return;
  log::error(what, " (", folded, " more since the last report; raise the descriptor limit or lower --max-clients)");
}

// Scanners and garbage on the TLS port fail handshakes as fast as they
// connect: each at info, and at most one warning every few seconds.
void Server::report_handshake_failure(const std::string& peer, const std::string& how) {
  ++tls_handshake_failures_;
  log::info("TLS handshake with ", peer, " ", how);
  std::size_t folded = 0;
  if (log::enabled(log::Level::info) || !handshake_log_.due(std::chrono::steady_clock::now(), folded)) return;
  log::warn("TLS handshake with ", peer, " ", how, " (", folded, " more failed since the last report)");
}

asio::awaitable<void> Server::tls_handshake(tcp::socket socket, AdmissionTicket ticket) {
  const std::string peer = transport::peer_name(socket);
  transport::TlsStream stream(std::move(socket), tls_context_);
  tcp::socket* lowest = &stream.next_layer();
  handshake_sockets_.insert(lowest);
  asio::steady_timer deadline(io_, options_.tls.handshake_timeout);
  auto result = co_await (stream.async_handshake(asio::ssl::stream_base::server, use_tuple) ||
                          deadline.async_wait(use_tuple));
  handshake_sockets_.erase(lowest);
  if (stopping_) co_return;  // shutdown closed it, or would only say bye
  if (result.index() == 1) {
    report_handshake_failure(peer, "timed out");
    co_return;
  }
  if (auto [ec] = std::get<0>(result); ec) {
    report_handshake_failure(peer, "failed: " + ec.message());
    co_return;
  }
  co_await open_session(std::move(stream), std::move(ticket));
}

template <class Stream>
asio::awaitable<void> Server::open_session(Stream stream, AdmissionTicket ticket) {
  const ClientId id = next_client_++;
  const Network network = ticket.key();  // read before the session takes the ticket
  std::shared_ptr<ConnectionCore> connection =
      make_connection(std::move(stream), id, inbox_, options_.connection, std::move(ticket));
  connection->count_as(std::is_same_v<Stream, tcp::socket> ? metrics::Transport::plain : metrics::Transport::tls);
  Inbound opened{Inbound::Kind::opened, id, connection, {}, {}, network};
  co_await tell(inbox_, std::move(opened), use_tuple);
  connection->start();
}

void Server::reload_with(ServerConfig as_read, Reread reread) {
  as_read_ = std::move(as_read);
  reread_ = std::move(reread);
}

asio::awaitable<void> Server::wait_for_reload() {
  for (;;) {
    std::tuple<boost::system::error_code, int> got = co_await reload_signals_.async_wait(use_tuple);
    if (std::get<0>(got) || finished_) co_return;
    service::reloading();
    co_await reload();
    service::ready();
  }
}

// The new settings reach new connections: the listener's admission limits
// and TLS context, the sessions' flood limit (each connection takes its
// bucket when it opens), and, through the inbox, the broadcaster's MOTD,
// password and advertised limits. Open connections keep what they have.
asio::awaitable<void> Server::reload() {
  if (!reread_) {
    if (!tls_context_) log::warn("SIGHUP: nothing to reload (no TLS certificate); carrying on");
    else reload_tls();
    co_return;
  }
  Loaded next = reread_();
  if (!next.error.empty()) {
    log::error("SIGHUP: keeping the current configuration: ", next.error);
    co_return;
  }
  const Changes changes = compare_settings(as_read_, next.config);
  for (const auto& name : changes.restart)
    log::warn("SIGHUP: ", name, " changed; it takes effect when chatd is restarted");
  take_live_settings(as_read_, next.config);
  take_live_settings(options_, next.config);
  log::set_level(options_.log_level);
  admission_->set_limits(options_.admission, std::chrono::steady_clock::now());
  if (tls_context_) reload_tls();
  Inbound settings{Inbound::Kind::settings, 0, nullptr, {}, {}};
  settings.settings = std::make_shared<const StateConfig>(broadcaster_config(options_));
  co_await tell(inbox_, std::move(settings), use_tuple);
  std::string applied;
  for (const auto& name : changes.live) applied += (applied.empty() ? "" : ", ") + name;
  log::warn("SIGHUP: reloaded the configuration; ", applied.empty() ? "no live setting changed" : "applied " + applied);
}

// New connections get the new context; open ones keep theirs.
void Server::reload_tls() {
  try {
    tls_context_ = load_tls_context(options_.tls);
    log::warn("SIGHUP: reloaded the TLS certificate ", options_.tls.cert_file);
  } catch (const std::exception& e) {
    log::error("SIGHUP: keeping the current TLS certificate: ", e.what());
  }
}

// Over a limit: `error` and `bye` server_full, then closed. This never
// reaches the broadcaster, so a peer hammering the port costs the others
// little more than the accept. The refusal is over once the peer's kernel has
// acknowledged it all (SIOCOUTQ is 0 after our FIN): a peer that keeps its
// socket open without reading holds its place for a round trip, not the
// whole grace.
asio::awaitable<void> Server::refuse(tcp::socket socket, Refusal why, bool tls) {
  Uncount slot(refusing_);
  const auto deadline = std::chrono::steady_clock::now() + refusal_grace;
  const std::string lines = refusal_lines(why);
  asio::steady_timer timer(io_);
  bool sent = false;
  if (!tls) {
    sent = send_at_once(socket, lines);
  } else {
    transport::TlsStream stream(std::move(socket), tls_context_);
    timer.expires_at(std::min(deadline, std::chrono::steady_clock::now() + options_.tls.handshake_timeout));
    auto shaken = co_await (stream.async_handshake(asio::ssl::stream_base::server, use_tuple) ||
                            timer.async_wait(use_tuple));
    if (shaken.index() == 0 && !std::get<0>(std::get<0>(shaken))) {
      timer.expires_at(deadline);
      auto wrote = co_await (asio::async_write(stream, asio::buffer(lines), use_tuple) || timer.async_wait(use_tuple));
      sent = wrote.index() == 0 && !std::get<0>(std::get<0>(wrote));
    }
    socket = std::move(stream.next_layer());  // no close_notify: the FIN ends it
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
  }
  if (sent) {
    transport::shutdown_sending(socket);
    // Polled with a short backoff: 1, 2, 4 .. 50 ms.
    auto pause = std::chrono::milliseconds(1);
    while (drain_input(socket) && transport::unacknowledged_bytes(socket) > 0) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;  // a peer whose window stays shut
      timer.expires_at(std::min(deadline, now + pause));
      co_await timer.async_wait(use_tuple);
      pause = std::min(pause * 2, refusal_poll_limit);
    }
  }
  transport::close_now(socket);
}

// No descriptor to spare for a refusal: the two lines if they go out at once
// (plain TCP only), then closed.
void Server::refuse_at_once(tcp::socket& socket, bool tls) {
  ++refusals_[static_cast<std::size_t>(metrics::RefusalReason::out_of_descriptors)];
  if (!tls && send_at_once(socket, refusal_lines(Refusal::server_full))) {
    transport::shutdown_sending(socket);
    drain_input(socket);
  }
  transport::close_now(socket);
}

// What an operator (or a test) asks with `kill -USR1`: written whatever the
// log level, since it was asked for. The heap is glibc's count of bytes in use.
asio::awaitable<void> Server::report_stats_on_signal() {
  while (!finished_) {
    std::tuple<boost::system::error_code, int> received = co_await stats_signal_.async_wait(use_tuple);
    if (std::get<0>(received)) co_return;
    const auto stats = broadcaster_->stats();
    const struct mallinfo2 heap = ::mallinfo2();
    std::fprintf(stderr, "chatd: stats connections=%zu clients=%zu rooms=%zu refusing=%zu heap_bytes=%zu\n",
                 stats.connections, stats.clients, stats.rooms, refusing_, heap.uordblks + heap.hblkhd);
    std::fflush(stderr);
  }
}

asio::awaitable<void> Server::wait_for_signal() {
  auto [ec, signal] = co_await signals_.async_wait(use_tuple);
  if (ec) co_return;
  log::warn("signal ", signal, " received");
  service::stopping();
  stopping_ = true;
  boost::system::error_code ignored;
  for (auto& acceptor : acceptors_) acceptor->close(ignored);
  for (auto& acceptor : tls_acceptors_) acceptor->close(ignored);
  for (tcp::socket* socket : handshake_sockets_) socket->close(ignored);
  Inbound shutdown{Inbound::Kind::shutdown, 0, nullptr, {}, {}};
  co_await tell(inbox_, std::move(shutdown), use_tuple);

  // A second signal while connections drain stops waiting for them. One in
  // the first second is the echo of the first (timeout(1) and process-group
  // kills signal the server twice), not a person insisting.
  const auto first = std::chrono::steady_clock::now();
  while (!finished_) {
    std::tuple<boost::system::error_code, int> again = co_await signals_.async_wait(use_tuple);
    if (std::get<0>(again)) co_return;
    if (std::chrono::steady_clock::now() - first < std::chrono::seconds(1)) continue;
    log::warn("second signal: exiting without waiting for connections to close");
    std::_Exit(1);
  }
}

}  // namespace corochat::server
