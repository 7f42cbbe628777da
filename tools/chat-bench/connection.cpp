#include "connection.hpp"

#include <cstring>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace corochat::bench {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

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
}  // namespace

void Connection::parse_input(Events& events) {
  const std::size_t used = protocol->parse(unparsed(), events);
  if (used > 0) {
    std::memmove(input.data(), input.data() + used, input_size - used);
    input_size -= used;
  }
}

asio::mutable_buffer Connection::read_space() {
  if (input_size == input.size()) input.resize(input.size() * 2);
  return asio::buffer(input.data() + input_size, input.size() - input_size);
}

void Connection::quickack() {
  if (!use_quickack) return;
  int one = 1;
  ::setsockopt(socket().native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

asio::awaitable<std::string> connect_and_join(Connection& c, const Options& options,
                                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  c.use_quickack = options.quickack;
  if (auto ec = co_await c.client.connect(options.host, options.port, timeout)) co_return "connect: " + ec.message();

  std::string out = c.protocol->greeting();
  bool join_sent = !c.protocol->join_waits_for_registration();
  if (join_sent) out += c.protocol->join();
  if (!out.empty()) {
    std::tuple<boost::system::error_code, std::size_t> written =
        co_await asio::async_write(c.socket(), asio::buffer(out), use_tuple);
    if (std::get<0>(written)) co_return "write: " + std::get<0>(written).message();
  }
  if (c.protocol->join_is_silent()) co_return std::string{};

  asio::steady_timer timer(c.socket().get_executor());
  SetupEvents events;
  while (!events.is_joined) {
    // Wait for readability, not for a read: a read raced against the timer
    // could lose its bytes when the timer wins.
    timer.expires_at(deadline);
    auto ready = co_await (c.socket().async_wait(asio::ip::tcp::socket::wait_read, use_tuple) ||
                           timer.async_wait(use_tuple));
    if (ready.index() == 1) co_return std::string("timed out registering and joining");
    if (auto [ec] = std::get<0>(ready); ec) co_return "wait: " + ec.message();
    boost::system::error_code ec;
    const std::size_t n = c.socket().read_some(c.read_space(), ec);  // the socket is non-blocking
    if (ec == asio::error::would_block) continue;
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
      std::tuple<boost::system::error_code, std::size_t> written =
          co_await asio::async_write(c.socket(), asio::buffer(replies), use_tuple);
      if (std::get<0>(written)) co_return "write: " + std::get<0>(written).message();
    }
  }
  co_return std::string{};
}

}  // namespace corochat::bench
