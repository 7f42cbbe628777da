// Runs a test's client coroutines on one io_context, bounded in time; an
// assertion that fails inside any of them fails the test.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "chatd_process.hpp"
#include "corochat/client.hpp"

namespace corochat::test {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using client::Client;
using client::Event;
using client::Millis;
using protocol::ByeReason;
using protocol::ErrorCode;
using protocol::EventType;
using protocol::LeaveReason;

// Long enough for a loaded 2-core machine under ASan, short enough that a
// hang fails fast.
inline constexpr Millis patience{5000};

class AsyncTest {
 public:
  asio::io_context io;

  // Starts one coroutine; all of them run in run().
  void spawn(std::function<asio::awaitable<void>()> body) {
    asio::co_spawn(io, std::move(body), [this](std::exception_ptr e) {
      if (e && !failure_) failure_ = e;
      if (e) io.stop();
    });
  }

  // Runs until every coroutine is done; fails if that takes longer than `limit`.
  void run(std::chrono::seconds limit = std::chrono::seconds(60)) {
    io.run_for(limit);
    if (failure_) std::rethrow_exception(failure_);
    if (!io.stopped()) FAIL("the test's coroutines did not finish within " << limit.count() << " s");
  }

 private:
  std::exception_ptr failure_;
};

// Never co_await inside a Catch2 assertion macro: the macros hold their
// expression in a short-circuited branch too, and GCC 12 hoists a co_await out
// of it, running it twice. The helpers below assert on their own instead.

inline asio::awaitable<void> send(Client& client, const json::object& request) {
  auto ec = co_await client.send(request);
  REQUIRE_FALSE(ec);
}

inline asio::awaitable<void> send_raw(Client& client, std::string bytes) {
  auto ec = co_await client.send_raw(std::move(bytes));
  REQUIRE_FALSE(ec);
}

// A connected client, registered as `nick` unless nick is empty.
inline asio::awaitable<std::unique_ptr<Client>> connect_client(asio::io_context& io, const ChatdProcess& chatd,
                                                               std::string nick = {}) {
  auto client = std::make_unique<Client>(io.get_executor());
  auto ec = co_await client->connect(chatd.host(), chatd.port());
  REQUIRE_FALSE(ec);
  if (!nick.empty()) {
    Event welcome = co_await client->hello(nick, patience);
    INFO(welcome.line);
    REQUIRE(welcome.kind() == EventType::welcome);
  }
  co_return client;
}

// The next event, which must be of type `kind`.
inline asio::awaitable<json::object> expect(Client& client, EventType kind) {
  Event e = co_await client.next(patience);
  INFO("expected a " << protocol::to_string(kind) << " event; got: " << (e.ec ? e.ec.message() : e.line));
  REQUIRE_FALSE(e.ec);
  REQUIRE(e.kind() == kind);
  co_return std::move(e.value);
}

// The next event, of type `kind`, with `field` equal to `value`.
inline asio::awaitable<json::object> expect(Client& client, EventType kind, std::string_view field,
                                            json::value value) {
  json::object e = co_await expect(client, kind);
  INFO(json::serialize(e));
  REQUIRE(e.contains(field));
  CHECK(e.at(field) == value);
  co_return e;
}

// The next event, which must be an `error` with `code`.
inline asio::awaitable<json::object> expect_error(Client& client, ErrorCode code) {
  Event e = co_await client.next(patience);
  INFO("expected error " << protocol::to_string(code) << "; got: " << (e.ec ? e.ec.message() : e.line));
  REQUIRE_FALSE(e.ec);
  REQUIRE(e.kind() == EventType::error);
  CHECK(e.error_code() == code);
  co_return std::move(e.value);
}

// The next event, which must be a `bye` with `reason`.
inline asio::awaitable<json::object> expect_bye(Client& client, ByeReason reason) {
  Event e = co_await client.next(patience);
  INFO("expected bye " << protocol::to_string(reason) << "; got: " << (e.ec ? e.ec.message() : e.line));
  REQUIRE_FALSE(e.ec);
  REQUIRE(e.kind() == EventType::bye);
  const json::value* sent = e.value.if_contains("reason");
  REQUIRE((sent && sent->is_string()));
  CHECK(protocol::parse_bye_reason(sent->get_string()) == reason);
  co_return std::move(e.value);
}

// The reason of a `left` event; nullopt when it is missing or not one of protocol 1's.
inline std::optional<LeaveReason> leave_reason(const json::object& left) {
  const json::value* reason = left.if_contains("reason");
  if (!reason || !reason->is_string()) return std::nullopt;
  return protocol::parse_leave_reason(reason->get_string());
}

// The server closed the connection: end of input (possibly after a reset).
inline asio::awaitable<void> expect_closed(Client& client) {
  Event e = co_await client.next(patience);
  INFO("expected the connection closed; got: " << e.line);
  REQUIRE(e.ec);
  REQUIRE(e.ec != asio::error::timed_out);
}

inline std::string str(const json::value& v) { return std::string(v.as_string()); }

}  // namespace corochat::test
