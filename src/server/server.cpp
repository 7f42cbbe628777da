#include "server/server.hpp"

#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <malloc.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/write.hpp>

#include "corochat/protocol/events.hpp"
#include "server/log.hpp"
#include "server/session.hpp"
#include "server/tls.hpp"

namespace corochat::server {
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr std::size_t inbox_capacity = 4096;
// A refused connection gets its two lines and this long to read them; no more
// than this many are told at once (the rest are just closed).
constexpr auto refusal_grace = std::chrono::seconds(2);
constexpr std::size_t max_refusing = 256;
}

Server::Server(asio::io_context& io, ServerOptions options)
    : io_(io),
      options_(std::move(options)),
      signals_(io, SIGINT, SIGTERM),
      stats_signal_(io, SIGUSR1),
      reload_signals_(io),
      inbox_(io, inbox_capacity),
      broadcaster_(inbox_, options_.state, handshaking_),
      admission_(std::make_shared<Admission>(options_.admission)) {
  if (options_.plain) listen(options_.port, acceptors_);
  if (options_.tls.enabled()) {
    tls_context_ = load_tls_context(options_.tls);
    listen(options_.tls.port, tls_acceptors_);
  }
  // Always: service managers and log rotation send it to any daemon, and its
  // default action would end chatd without a bye.
  reload_signals_.add(SIGHUP);
}

void Server::listen(const std::string& port, Acceptors& into) {
  tcp::resolver resolver(io_);
  auto results = resolver.resolve(options_.host, port, tcp::resolver::passive);
  for (const auto& entry : results) {
    listen_on(entry.endpoint(), into);
    break;  // the first address the host names; "::" covers IPv4 as well
  }
}

void Server::listen_on(const tcp::endpoint& endpoint, Acceptors& into) {
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  acceptor->open(endpoint.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  if (endpoint.address().is_v6()) {
    boost::system::error_code ignored;  // dual stack where the OS allows it
    acceptor->set_option(asio::ip::v6_only(false), ignored);
  }
  acceptor->bind(endpoint);
  acceptor->listen(asio::socket_base::max_listen_connections);
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

void Server::start() {
  // After shutdown every coroutine ends on its own and io_context::run returns.
  // A broadcaster that fails cannot serve anyone: stop at once.
  asio::co_spawn(io_, broadcaster_.run(), [this](std::exception_ptr failure) {
    finished_ = true;   // checked before every wait for a signal, then
    signals_.cancel();  // wakes the one pending: nothing is left to wait for
    stats_signal_.cancel();
    reload_signals_.cancel();
    if (!failure) return;
    log_failure("broadcaster")(failure);
    io_.stop();
  });
  asio::co_spawn(io_, wait_for_signal(), log_failure("signal handler"));
  asio::co_spawn(io_, report_stats_on_signal(), log_failure("stats"));
  for (auto& acceptor : acceptors_) asio::co_spawn(io_, accept_loop(*acceptor, false), log_failure("listener"));
  for (auto& acceptor : tls_acceptors_) asio::co_spawn(io_, accept_loop(*acceptor, true), log_failure("TLS listener"));
  asio::co_spawn(io_, wait_for_reload(), log_failure("reload handler"));
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
      // Out of descriptors, most often: pause rather than spin.
      log::error("accept failed: ", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    // Per-address limits come first, before a TLS handshake costs anything.
    const auto key = Admission::key_of(socket.remote_endpoint(ignored).address());
    if (const Refusal refusal = admission_->admit(key, std::chrono::steady_clock::now()); refusal != Refusal::none) {
      log::info("refused ", transport::peer_name(socket), ": ", to_string(refusal));
      // A TLS peer could not read the plain refusal: it is just closed.
      if (!tls && refusing_ < max_refusing)
        asio::co_spawn(io_, refuse(std::move(socket), refusal), log_failure("refusal"));
      continue;  // a socket not handed on closes here
    }
    AdmissionTicket ticket(admission_, key);
    if (!tls) {
      co_await open_session(std::move(socket), std::move(ticket));
      continue;
    }
    // Handshakes run beside the accept loop, so a slow one delays nobody.
    // Beyond max_clients of them at once, the newest is closed unheard.
    if (handshaking_ >= options_.state.max_clients) {
      log::warn("TLS connection from ", transport::peer_name(socket), " closed: too many handshakes in progress");
      continue;
    }
    ++handshaking_;
    asio::co_spawn(io_, tls_handshake(std::move(socket), std::move(ticket)), log_failure("TLS handshake"));
  }
}

namespace {
// Counts one handshake in progress until released or destroyed.
class HandshakeSlot {
 public:
  explicit HandshakeSlot(std::size_t& count) : count_(&count) {}
  ~HandshakeSlot() { release(); }
  HandshakeSlot(const HandshakeSlot&) = delete;
  HandshakeSlot& operator=(const HandshakeSlot&) = delete;
  void release() {
    if (count_) --*count_;
    count_ = nullptr;
  }

 private:
  std::size_t* count_;
};
}  // namespace

asio::awaitable<void> Server::tls_handshake(tcp::socket socket, AdmissionTicket ticket) {
  HandshakeSlot slot(handshaking_);
  const std::string peer = transport::peer_name(socket);
  transport::TlsStream stream(std::move(socket), tls_context_);
  tcp::socket* lowest = &stream.next_layer();
  handshake_sockets_.insert(lowest);
  asio::steady_timer deadline(io_, options_.tls.handshake_timeout);
  auto result = co_await (stream.async_handshake(asio::ssl::stream_base::server, use_tuple) ||
                          deadline.async_wait(use_tuple));
  handshake_sockets_.erase(lowest);
  slot.release();  // from here on the connection is the broadcaster's to count, or gone
  if (stopping_) co_return;  // shutdown closed it, or would only say bye
  if (result.index() == 1) {
    log::warn("TLS handshake with ", peer, " timed out");
    co_return;
  }
  if (auto [ec] = std::get<0>(result); ec) {
    log::warn("TLS handshake with ", peer, " failed: ", ec.message());
    co_return;
  }
  co_await open_session(std::move(stream), std::move(ticket));
}

template <class Stream>
asio::awaitable<void> Server::open_session(Stream stream, AdmissionTicket ticket) {
  const ClientId id = next_client_++;
  auto session =
      std::make_shared<Session<Stream>>(std::move(stream), id, inbox_, options_.session, std::move(ticket));
  Inbound opened{Inbound::Kind::opened, id, session, {}, {}};
  co_await post(inbox_, std::move(opened));
  session->start();
}

asio::awaitable<void> Server::wait_for_reload() {
  for (;;) {
    std::tuple<boost::system::error_code, int> got = co_await reload_signals_.async_wait(use_tuple);
    if (std::get<0>(got) || finished_) co_return;
    if (!tls_context_) {
      log::warn("SIGHUP: nothing to reload (no TLS certificate); carrying on");
      continue;
    }
    // New connections get the new context; open ones keep theirs.
    try {
      tls_context_ = load_tls_context(options_.tls);
      log::warn("SIGHUP: reloaded the TLS certificate ", options_.tls.cert_file);
    } catch (const std::exception& e) {
      log::error("SIGHUP: keeping the current TLS certificate: ", e.what());
    }
  }
}

// Over its address's limit: `error` and `bye` server_full, then closed. This
// never reaches the broadcaster, so a peer hammering the port costs the
// others nothing but the accept.
asio::awaitable<void> Server::refuse(tcp::socket socket, Refusal why) {
  ++refusing_;
  auto peer = std::make_shared<tcp::socket>(std::move(socket));
  asio::steady_timer deadline(io_, refusal_grace);
  deadline.async_wait([peer](boost::system::error_code ec) {
    boost::system::error_code ignored;
    if (!ec) peer->close(ignored);  // a peer that neither reads nor closes
  });
  const std::string lines =
      *protocol::serialize_line(protocol::event::error(protocol::ErrorCode::server_full, to_string(why))) +
      *protocol::serialize_line(protocol::event::bye(protocol::ByeReason::server_full));
  auto [write_error, written] = co_await asio::async_write(*peer, asio::buffer(lines), use_tuple);
  if (!write_error) {
    // Closing with unread input would reset the connection and could discard
    // the lines before the peer reads them: send FIN, drain until it closes.
    transport::shutdown_sending(*peer);
    std::array<char, 512> sink;
    for (;;) {
      auto [ec, n] = co_await peer->async_read_some(asio::buffer(sink), use_tuple);
      if (ec) break;
    }
  }
  transport::close_now(*peer);
  --refusing_;
}

// What an operator (or a test) asks with `kill -USR1`: written whatever the
// log level, since it was asked for. The heap is glibc's count of bytes in use.
asio::awaitable<void> Server::report_stats_on_signal() {
  while (!finished_) {
    std::tuple<boost::system::error_code, int> received = co_await stats_signal_.async_wait(use_tuple);
    if (std::get<0>(received)) co_return;
    const auto stats = broadcaster_.stats();
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
  stopping_ = true;
  boost::system::error_code ignored;
  for (auto& acceptor : acceptors_) acceptor->close(ignored);
  for (auto& acceptor : tls_acceptors_) acceptor->close(ignored);
  for (tcp::socket* socket : handshake_sockets_) socket->close(ignored);
  Inbound shutdown{Inbound::Kind::shutdown, 0, nullptr, {}, {}};
  co_await post(inbox_, std::move(shutdown));

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
