#include "server/server.hpp"

#include <csignal>
#include <cstdlib>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include "server/log.hpp"
#include "server/session.hpp"

namespace corochat::server {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::size_t inbox_capacity = 4096;
}

Server::Server(asio::io_context& io, ServerOptions options)
    : io_(io),
      options_(std::move(options)),
      signals_(io, SIGINT, SIGTERM),
      inbox_(io, inbox_capacity),
      broadcaster_(inbox_, options_.state) {
  tcp::resolver resolver(io);
  auto results = resolver.resolve(options_.host, options_.port, tcp::resolver::passive);
  for (const auto& entry : results) {
    listen_on(entry.endpoint());
    break;  // the first address the host names; "::" covers IPv4 as well
  }
}

void Server::listen_on(const tcp::endpoint& endpoint) {
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  acceptor->open(endpoint.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  if (endpoint.address().is_v6()) {
    boost::system::error_code ignored;  // dual stack where the OS allows it
    acceptor->set_option(asio::ip::v6_only(false), ignored);
  }
  acceptor->bind(endpoint);
  acceptor->listen(asio::socket_base::max_listen_connections);
  acceptors_.push_back(std::move(acceptor));
}

std::vector<tcp::endpoint> Server::local_endpoints() const {
  std::vector<tcp::endpoint> endpoints;
  for (const auto& a : acceptors_) endpoints.push_back(a->local_endpoint());
  return endpoints;
}

void Server::start() {
  // After shutdown every coroutine ends on its own and io_context::run returns.
  // A broadcaster that fails cannot serve anyone: stop at once.
  asio::co_spawn(io_, broadcaster_.run(), [this](std::exception_ptr failure) {
    finished_ = true;   // checked before every wait for a signal, then
    signals_.cancel();  // wakes the one pending: nothing is left to wait for
    if (!failure) return;
    log_failure("broadcaster")(failure);
    io_.stop();
  });
  asio::co_spawn(io_, wait_for_signal(), log_failure("signal handler"));
  for (auto& acceptor : acceptors_) asio::co_spawn(io_, accept_loop(*acceptor), log_failure("listener"));
}

asio::awaitable<void> Server::accept_loop(tcp::acceptor& acceptor) {
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
    const ClientId id = next_client_++;
    auto session = std::make_shared<Session<tcp::socket>>(std::move(socket), id, inbox_, options_.session);
    Inbound opened{Inbound::Kind::opened, id, session, {}, {}};
    co_await post(inbox_, std::move(opened));
    session->start();
  }
}

asio::awaitable<void> Server::wait_for_signal() {
  auto [ec, signal] = co_await signals_.async_wait(use_tuple);
  if (ec) co_return;
  log::warn("signal ", signal, " received");
  for (auto& acceptor : acceptors_) {
    boost::system::error_code ignored;
    acceptor->close(ignored);
  }
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
