// Chatting through a real chatd: ordering, id echo, isolation of bad peers.
#include <map>

#include "async_test.hpp"

using namespace corochat;
using namespace corochat::client;
using namespace corochat::test;

TEST_CASE("every member of a room sees its messages in one seq order") {
  ChatdProcess chatd({"--flood-rate", "0"});
  constexpr int members = 12, senders = 4, per_sender = 60, total = senders * per_sender;
  std::map<int, std::vector<std::string>> seen;  // member -> "from:text" in arrival order
  int registered = 0;
  AsyncTest t;
  for (int m = 0; m < members; ++m) {
    t.spawn([&, m]() -> asio::awaitable<void> {
      auto c = co_await connect_client(t.io, chatd, "m" + std::to_string(m));
      co_await expect(*c, EventType::joined);
      ++registered;
      // Everyone waits until all are in the room, so each sees every message.
      asio::steady_timer wait(t.io);
      while (registered < members) {
        wait.expires_after(5ms);
        co_await wait.async_wait(asio::use_awaitable);
      }
      if (m < senders)
        for (int i = 0; i < per_sender; ++i) {
          auto ec = co_await c->send(request::say("lobby", "msg " + std::to_string(i)));
          REQUIRE_FALSE(ec);
        }
      std::uint64_t expected_seq = 1;
      while (seen[m].size() < total) {
        Event e = co_await c->next_of(EventType::message, patience);
        INFO("member " << m << " after " << seen[m].size() << " messages");
        REQUIRE_FALSE(e.ec);
        REQUIRE(e.value.at("seq").to_number<std::uint64_t>() == expected_seq++);
        seen[m].push_back(str(e.value.at("from")) + ":" + str(e.value.at("text")));
      }
    });
  }
  t.run();
  for (int m = 1; m < members; ++m) CHECK(seen[m] == seen[0]);
  // Each sender's own messages arrive in the order it sent them.
  for (int s = 0; s < senders; ++s) {
    int next = 0;
    for (const auto& line : seen[0])
      if (line.starts_with("m" + std::to_string(s) + ":")) CHECK(line == "m" + std::to_string(s) + ":msg " + std::to_string(next++));
    CHECK(next == per_sender);
  }
}

TEST_CASE("a request's id comes back to the requester only") {
  ChatdProcess chatd;
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto alice = std::make_unique<Client>(t.io.get_executor());
    {
      auto ec = co_await alice->connect(chatd.host(), chatd.port());
      REQUIRE_FALSE(ec);
    }
    json::object extra;
    extra["id"] = "h1";
    Event welcome = co_await alice->hello("alice", patience, extra);
    REQUIRE(welcome.value.at("id") == "h1");
    auto joined = co_await expect(*alice, EventType::joined);
    CHECK(joined.at("id") == "h1");

    auto bob = co_await connect_client(t.io, chatd, "bob");
    auto bob_joined = co_await expect(*bob, EventType::joined);
    CHECK_FALSE(bob_joined.contains("id"));
    auto seen_by_alice = co_await expect(*alice, EventType::joined);
    CHECK_FALSE(seen_by_alice.contains("id"));

    auto say = request::say("lobby", "hello bob");
    say["id"] = 7;
    co_await send(*alice, say);
    auto echo = co_await expect(*alice, EventType::message);
    auto copy = co_await expect(*bob, EventType::message);
    CHECK(echo.at("id") == 7);
    CHECK_FALSE(copy.contains("id"));
    CHECK(echo.at("seq") == copy.at("seq"));
    CHECK(echo.at("ts") == copy.at("ts"));

    auto pm = request::msg("BOB", "psst");
    pm["id"] = "p";
    co_await send(*alice, pm);
    auto pm_echo = co_await expect(*alice, EventType::private_message);
    auto pm_copy = co_await expect(*bob, EventType::private_message);
    CHECK(pm_echo.at("id") == "p");
    CHECK(pm_copy.at("to") == "bob");
    CHECK_FALSE(pm_copy.contains("id"));
  });
  t.run();
}

TEST_CASE("a slow consumer is disconnected while a reader in the same room gets everything") {
  ChatdProcess chatd({"--flood-rate", "0", "--queue-bytes", "32768"});
  constexpr int count = 3000;
  const std::string text(1000, 'x');
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    // A client that stops reading, with a small kernel buffer so it backs up soon.
    auto slow = std::make_unique<Client>(t.io.get_executor());
    slow->set_receive_buffer(4096);
    {
      auto ec = co_await slow->connect(chatd.host(), chatd.port());
      REQUIRE_FALSE(ec);
    }
    auto welcome = co_await slow->hello("slow", patience);
    REQUIRE(welcome.kind() == EventType::welcome);
    auto reader = co_await connect_client(t.io, chatd, "reader");
    auto sender = co_await connect_client(t.io, chatd, "sender");
    co_await expect(*sender, EventType::joined);
    int received = 0;
    bool slow_left = false;
    for (int i = 0; i < count; ++i) {
      co_await send(*sender, request::say("lobby", text));
      // Waiting for the echo keeps the sender itself from falling behind.
      Event echo = co_await sender->next_of(EventType::message, patience);
      REQUIRE_FALSE(echo.ec);
    }
    while (received < count) {
      Event e = co_await reader->next(patience);
      REQUIRE_FALSE(e.ec);
      if (e.kind() == EventType::message) {
        REQUIRE(e.value.at("from") == "sender");
        ++received;
      } else if (e.kind() == EventType::left && e.value.at("nick") == "slow") {
        CHECK(leave_reason(e.value) == LeaveReason::slow_consumer);
        slow_left = true;
      }
    }
    CHECK(received == count);
    CHECK(slow_left);
    // The slow client finds its connection closed, without a bye, long before
    // everything was sent to it.
    int slow_messages = 0;
    for (;;) {
      Event e = co_await slow->next(patience);
      if (e.ec) break;
      CHECK(e.kind() != EventType::bye);
      if (e.kind() == EventType::message) ++slow_messages;
    }
    CHECK(slow_messages < count);
  });
  t.run();
}

TEST_CASE("a client that stops reading for a while then gets every line whole and in order") {
  // Lines of 1000 bytes, more than the kernel buffers hold: the server's
  // writes stop in the middle of a line and must go on from there.
  ChatdProcess chatd({"--flood-rate", "0", "--queue-bytes", "8388608"});
  constexpr int count = 3000;
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto paused = std::make_unique<Client>(t.io.get_executor());
    paused->set_receive_buffer(4096);
    {
      auto ec = co_await paused->connect(chatd.host(), chatd.port());
      REQUIRE_FALSE(ec);
    }
    auto welcome = co_await paused->hello("paused", patience);
    REQUIRE(welcome.kind() == EventType::welcome);
    auto sender = co_await connect_client(t.io, chatd, "sender");
    co_await expect(*sender, EventType::joined);
    for (int i = 0; i < count; ++i) {
      const std::string text = std::to_string(i) + ":" + std::string(1000, static_cast<char>('a' + i % 26));
      auto ec = co_await sender->send(request::say("lobby", text));
      REQUIRE_FALSE(ec);
    }
    // The sender's last echo means the server has queued every line for the
    // paused client too; only now does it read.
    for (int i = 0; i < count; ++i) {
      Event echo = co_await sender->next_of(EventType::message, patience);
      REQUIRE_FALSE(echo.ec);
    }
    std::uint64_t first_seq = 0;
    for (int i = 0; i < count; ++i) {
      Event e = co_await paused->next_of(EventType::message, patience);
      INFO("message " << i);
      REQUIRE_FALSE(e.ec);
      const std::uint64_t seq = e.value.at("seq").to_number<std::uint64_t>();
      if (i == 0) first_seq = seq;
      REQUIRE(seq == first_seq + static_cast<std::uint64_t>(i));
      const std::string expected = std::to_string(i) + ":" + std::string(1000, static_cast<char>('a' + i % 26));
      REQUIRE(str(e.value.at("text")) == expected);
    }
  });
  t.run();
}

TEST_CASE("clients connect over IPv6 loopback") {
  ChatdProcess chatd({"--host", "::1"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    Client c(t.io.get_executor());
    {
      auto ec = co_await c.connect("::1", chatd.port());
      REQUIRE_FALSE(ec);
    }
    Event welcome = co_await c.hello("six", patience);
    CHECK(welcome.kind() == EventType::welcome);
  });
  t.run();
}
