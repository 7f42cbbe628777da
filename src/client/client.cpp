#include "corochat/client.hpp"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace corochat {
namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}

std::string_view Event::type() const {
  if (const json::value* t = value.if_contains("type"); t && t->is_string()) return t->get_string();
  return {};
}

struct Client::Collector {
  Client& client;
  void on_line(std::string_view line) { client.lines_.emplace_back(line); }
  void on_too_long() { client.line_too_long_ = true; }
};

Client::Client(asio::any_io_executor executor, std::size_t max_line)
    : socket_(executor), timer_(executor), framer_(max_line) {}

asio::awaitable<boost::system::error_code> Client::connect(std::string host, std::string port, Millis timeout) {
  tcp::resolver resolver(socket_.get_executor());
  // Named, not a structured binding: GCC 12 destroys a structured binding of a
  // non-trivial co_await result twice.
  std::tuple<boost::system::error_code, tcp::resolver::results_type> resolved =
      co_await resolver.async_resolve(host, port, use_tuple);
  auto& [rec, endpoints] = resolved;
  if (rec) co_return rec;
  // Endpoint by endpoint, so that socket options are set before connecting.
  timer_.expires_after(timeout);
  boost::system::error_code ec = asio::error::host_not_found;
  for (const auto& entry : endpoints) {
    close();
    socket_.open(entry.endpoint().protocol(), ec);
    if (ec) continue;
    if (receive_buffer_ > 0) socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer_), ec);
    auto result = co_await (socket_.async_connect(entry.endpoint(), use_tuple) || timer_.async_wait(use_tuple));
    if (result.index() == 1) {
      close();
      co_return asio::error::timed_out;
    }
    ec = std::get<0>(std::get<0>(result));
    if (!ec) break;
  }
  if (ec) {
    close();
    co_return ec;
  }
  socket_.set_option(tcp::no_delay(true), ec);
  if (!ec) socket_.non_blocking(true, ec);
  co_return ec;
}

asio::awaitable<boost::system::error_code> Client::send(const json::object& request) {
  std::string line = json::serialize(request);
  line.push_back('\n');
  co_return co_await send_raw(std::move(line));
}

asio::awaitable<boost::system::error_code> Client::send_raw(std::string bytes) {
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), use_tuple);
  co_return ec;
}

asio::awaitable<Event> Client::next_line(Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<char, 8192> buffer;
  while (lines_.empty()) {
    if (line_too_long_) {
      line_too_long_ = false;
      co_return Event{asio::error::message_size, {}, {}};
    }
    // Wait for readability, not for a read: when the timer wins the race, a
    // cancelled wait has consumed nothing, while a read could lose its bytes.
    timer_.expires_at(deadline);
    auto result = co_await (socket_.async_wait(tcp::socket::wait_read, use_tuple) || timer_.async_wait(use_tuple));
    if (result.index() == 1) co_return Event{asio::error::timed_out, {}, {}};
    if (auto [wait_error] = std::get<0>(result); wait_error) co_return Event{wait_error, {}, {}};
    boost::system::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);  // the socket is non-blocking
    if (ec == asio::error::would_block) continue;
    if (ec) co_return Event{ec, {}, {}};
    Collector collector{*this};
    framer_.feed({buffer.data(), n}, collector);
  }
  Event event;
  event.line = std::move(lines_.front());
  lines_.pop_front();
  co_return event;
}

asio::awaitable<Event> Client::next(Millis timeout) {
  Event event = co_await next_line(timeout);
  if (event.ec) co_return event;
  boost::system::error_code ec;
  json::value value = json::parse(event.line, ec);
  if (ec || !value.is_object()) {
    event.ec = ec ? ec : make_error_code(json::error::not_object);
    co_return event;
  }
  event.value = std::move(value.get_object());
  co_return event;
}

asio::awaitable<Event> Client::next_of(std::string_view type, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    Event event = co_await next(std::max(left, Millis(0)));
    if (event.ec || event.type() == type) co_return event;
  }
}

asio::awaitable<Event> Client::hello(std::string_view nick, Millis timeout, json::object extra) {
  extra["type"] = "hello";
  extra["nick"] = nick;
  if (auto ec = co_await send(extra)) co_return Event{ec, {}, {}};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    Event event = co_await next(std::max(left, Millis(0)));
    if (event.ec || event.type() == "welcome" || event.type() == "error") co_return event;
  }
}

void Client::finish_sending() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

void Client::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

namespace request {
json::object of_type(std::string_view type) {
  json::object r;
  r["type"] = type;
  return r;
}
json::object say(std::string_view room, std::string_view text) {
  auto r = of_type("say");
  r["room"] = room;
  r["text"] = text;
  return r;
}
json::object join(std::string_view room) {
  auto r = of_type("join");
  r["room"] = room;
  return r;
}
json::object part(std::string_view room) {
  auto r = of_type("part");
  r["room"] = room;
  return r;
}
json::object msg(std::string_view to, std::string_view text) {
  auto r = of_type("msg");
  r["to"] = to;
  r["text"] = text;
  return r;
}
}  // namespace request

}  // namespace corochat
