// The coroutine client library: connect, register, send typed requests and
// co_await the next event, each with a timeout. Used by the tools and tests.
//
// At most one coroutine sends at a time and at most one waits for events at a
// time; one of each may run concurrently (a reader loop beside a sender).
#pragma once

#include <chrono>
#include <deque>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include "corochat/protocol/framer.hpp"

namespace corochat {

using Millis = std::chrono::milliseconds;

// One line from the server. `ec` is set instead when none came: timed_out,
// eof (the server closed), or another transport error; or when the line is
// not a JSON object (`line` then holds it as received).
struct Event {
  boost::system::error_code ec;
  boost::json::object value;
  std::string line;

  explicit operator bool() const { return !ec; }
  std::string_view type() const;
};

class Client {
 public:
  explicit Client(boost::asio::any_io_executor executor, std::size_t max_line = 1 << 20);

  boost::asio::awaitable<boost::system::error_code> connect(std::string host, std::string port,
                                                            Millis timeout = Millis(5000));

  // The kernel's receive buffer for the next connect (0: the system default).
  // Small values make a client that stops reading back up quickly.
  void set_receive_buffer(int bytes) { receive_buffer_ = bytes; }

  // Sends one request as a line.
  boost::asio::awaitable<boost::system::error_code> send(const boost::json::object& request);
  // Sends bytes as they are (for malformed input and partial lines).
  boost::asio::awaitable<boost::system::error_code> send_raw(std::string bytes);

  // The next line the server sent, whatever it is.
  boost::asio::awaitable<Event> next(Millis timeout);
  // The next event of `type`, dropping the ones before it.
  boost::asio::awaitable<Event> next_of(std::string_view type, Millis timeout);
  // Sends hello and waits for the welcome (or the error that answers it).
  // `extra` fields (password, resume, id, ...) are added to the hello.
  boost::asio::awaitable<Event> hello(std::string_view nick, Millis timeout,
                                      boost::json::object extra = {});

  // Half-close: the server sees end of input.
  void finish_sending();
  void close();
  bool is_open() const { return socket_.is_open(); }
  boost::asio::ip::tcp::socket& socket() { return socket_; }

 private:
  struct Collector;
  boost::asio::awaitable<Event> next_line(Millis timeout);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  protocol::LineFramer framer_;
  std::deque<std::string> lines_;  // framed, not yet taken
  bool line_too_long_ = false;
  int receive_buffer_ = 0;
};

// Helpers to build requests.
namespace request {
boost::json::object say(std::string_view room, std::string_view text);
boost::json::object join(std::string_view room);
boost::json::object part(std::string_view room);
boost::json::object msg(std::string_view to, std::string_view text);
boost::json::object of_type(std::string_view type);
}  // namespace request

}  // namespace corochat
