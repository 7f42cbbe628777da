#include "corochat/use_tuple.hpp"
#include "load_client.hpp"

#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <iostream>
#include <optional>

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace corochat::bench {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
namespace {

// What a connection being set up has heard so far.
struct SetupEvents final : Events {
  bool is_registered = false;
  bool is_joined = false;
  std::string failure;
  std::string replies;
  void registered() override { is_registered = true; }
  void joined() override { is_joined = true; }
  void reply(std::string_view bytes) override { replies += bytes; }
  void error(std::string_view what) override {
    if (failure.empty()) failure = std::string(what);
  }
};
// One TLS context for the run, made from the options the first time it is needed.
asio::ssl::context& tls_context(const Options& options) {
  static std::optional<asio::ssl::context> context;
  if (!context) {
    context.emplace(asio::ssl::context::tls_client);
    context->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    if (options.insecure) {
      std::cerr << "chat-bench: warning: --insecure: the server's certificate is not checked\n";
      context->set_verify_mode(asio::ssl::verify_none);
    } else {
      context->set_verify_mode(asio::ssl::verify_peer);
      if (options.ca_file.empty()) context->set_default_verify_paths();
      else context->load_verify_file(options.ca_file);
    }
  }
  return *context;
}

bool is_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> LoadClient::write(asio::const_buffer bytes) {
  if (tls) co_return co_await asio::async_write(*tls, bytes, use_tuple);
  co_return co_await asio::async_write(client.socket(), bytes, use_tuple);
}

asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> LoadClient::read_some(asio::mutable_buffer space) {
  if (tls) co_return co_await tls->async_read_some(space, use_tuple);
  co_return co_await client.socket().async_read_some(space, use_tuple);
}

void LoadClient::parse_input(Events& events) {
  const std::size_t used = protocol->parse(unparsed(), events);
  if (used > 0) {
    std::memmove(input.data(), input.data() + used, input_size - used);
    input_size -= used;
  }
}

asio::mutable_buffer LoadClient::read_space() {
  if (input_size == input.size()) input.resize(input.size() * 2);
  return asio::buffer(input.data() + input_size, input.size() - input_size);
}

void LoadClient::quickack() {
  if (!use_quickack) return;
  int one = 1;
  ::setsockopt(socket().native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

asio::awaitable<std::string> connect_and_join(LoadClient& c, const Options& options,
                                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  c.use_quickack = options.quickack;
  if (auto ec = co_await c.client.connect(options.host, options.port, timeout)) co_return "connect: " + ec.message();
  asio::steady_timer timer(c.socket().get_executor());
  if (options.tls) {
    c.tls = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(c.client.socket()),
                                                                        tls_context(options));
    if (!is_address(options.host)) SSL_set_tlsext_host_name(c.tls->native_handle(), options.host.c_str());
    if (!options.insecure) c.tls->set_verify_callback(asio::ssl::host_name_verification(options.host));
    timer.expires_at(deadline);
    auto done = co_await (c.tls->async_handshake(asio::ssl::stream_base::client, use_tuple) ||
                          timer.async_wait(use_tuple));
    if (done.index() == 1) co_return std::string("timed out in the TLS handshake");
    if (auto [ec] = std::get<0>(done); ec) co_return "TLS handshake: " + ec.message();
  }

  std::string out = c.protocol->greeting();
  bool join_sent = !c.protocol->join_waits_for_registration();
  if (join_sent) out += c.protocol->join();
  if (!out.empty()) {
    std::tuple<boost::system::error_code, std::size_t> written = co_await c.write(asio::buffer(out));
    if (std::get<0>(written)) co_return "write: " + std::get<0>(written).message();
  }
  if (c.protocol->join_is_silent()) co_return std::string{};

  SetupEvents events;
  while (!events.is_joined) {
    timer.expires_at(deadline);
    boost::system::error_code ec;
    std::size_t n = 0;
    if (c.tls) {
      // TLS buffers inside the stream, so readability says nothing: read, and
      // give up at the deadline (what a lost read held no longer matters then).
      auto read = co_await (c.tls->async_read_some(c.read_space(), use_tuple) || timer.async_wait(use_tuple));
      if (read.index() == 1) co_return std::string("timed out registering and joining");
      std::tie(ec, n) = std::get<0>(read);
    } else {
      // Wait for readability, not for a read: a read raced against the timer
      // could lose its bytes when the timer wins.
      auto ready = co_await (c.socket().async_wait(asio::ip::tcp::socket::wait_read, use_tuple) ||
                             timer.async_wait(use_tuple));
      if (ready.index() == 1) co_return std::string("timed out registering and joining");
      if (auto [waited] = std::get<0>(ready); waited) co_return "wait: " + waited.message();
      n = c.socket().read_some(c.read_space(), ec);  // the socket is non-blocking
      if (ec == asio::error::would_block) continue;
    }
    if (ec) co_return ec == asio::error::eof ? std::string("closed by the server") : "read: " + ec.message();
    c.input_size += n;
    c.quickack();
    c.parse_input(events);
    if (!events.failure.empty()) co_return "refused: " + events.failure;
    if (events.is_registered && !join_sent) {
      events.replies += c.protocol->join();
      join_sent = true;
    }
    if (!events.replies.empty()) {
      const std::string replies = std::exchange(events.replies, {});
      std::tuple<boost::system::error_code, std::size_t> written = co_await c.write(asio::buffer(replies));
      if (std::get<0>(written)) co_return "write: " + std::get<0>(written).message();
    }
  }
  co_return std::string{};
}

}  // namespace corochat::bench
