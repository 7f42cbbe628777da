// How connections and the server end: end of input, keep-alive, registration
// deadline, resume, and shutdown on a signal.
#include <csignal>

#include "async_test.hpp"

using namespace corochat;
using namespace corochat::client;
using namespace corochat::test;

TEST_CASE("at end of input complete lines run, the rest is dropped, output is flushed") {
  ChatdProcess chatd;
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto bob = co_await connect_client(t.io, chatd, "bob");
    co_await expect(*bob, EventType::joined);
    auto alice = co_await connect_client(t.io, chatd);
    co_await send_raw(*alice, 
        "{\"type\":\"hello\",\"nick\":\"alice\"}\n{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"bye all\"}\n"
        "{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"never sent\"}");
    alice->finish_sending();
    co_await expect(*alice, EventType::welcome);
    co_await expect(*alice, EventType::joined);
    co_await expect(*alice, EventType::message, "text", "bye all");
    co_await expect_closed(*alice);

    co_await expect(*bob, EventType::joined, "nick", "alice");
    co_await expect(*bob, EventType::message, "text", "bye all");
    auto left = co_await expect(*bob, EventType::left);
    CHECK(left.at("nick") == "alice");
    CHECK(leave_reason(left) == LeaveReason::disconnect);
  });
  t.run();
}

TEST_CASE("lines after quit are not executed") {
  ChatdProcess chatd;
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto bob = co_await connect_client(t.io, chatd, "bob");
    co_await expect(*bob, EventType::joined);
    auto alice = co_await connect_client(t.io, chatd, "alice");
    co_await expect(*alice, EventType::joined);
    co_await send_raw(*alice, 
        "{\"type\":\"quit\",\"id\":1}\n{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"ghost\"}\n");
    auto bye = co_await expect_bye(*alice, ByeReason::quit);
    CHECK(bye.at("id") == 1);
    co_await expect_closed(*alice);
    co_await expect(*bob, EventType::joined);
    auto left = co_await expect(*bob, EventType::left);
    CHECK(leave_reason(left) == LeaveReason::quit);
    // Nothing more for bob: the say after quit never ran.
    co_await send(*bob, request::of_type("ping"));
    co_await expect(*bob, EventType::pong);
  });
  t.run();
}

TEST_CASE("a silent connection is pinged, then closed, while one that answers stays") {
  ChatdProcess chatd({"--idle-timeout", "300ms", "--idle-grace", "300ms"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto mute = co_await connect_client(t.io, chatd, "mute");
    auto alive = co_await connect_client(t.io, chatd, "alive");
    co_await expect(*mute, EventType::joined);
    co_await expect(*mute, EventType::joined);
    co_await expect(*alive, EventType::joined);

    co_await expect(*mute, EventType::ping);
    co_await expect(*alive, EventType::ping);
    co_await send(*alive, request::of_type("pong"));
    co_await expect_bye(*mute, ByeReason::timeout);
    co_await expect_closed(*mute);
    auto left = co_await expect(*alive, EventType::left);
    CHECK(left.at("nick") == "mute");
    CHECK(leave_reason(left) == LeaveReason::timeout);
    // Answering keeps it open: pinged again, not closed.
    co_await expect(*alive, EventType::ping);
    co_await send(*alive, request::of_type("pong"));
    co_await expect(*alive, EventType::ping);
  });
  t.run();
}

TEST_CASE("a connection that never says hello is closed at the registration deadline") {
  ChatdProcess chatd({"--registration-timeout", "300ms"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto lurker = co_await connect_client(t.io, chatd);
    auto member = co_await connect_client(t.io, chatd, "member");
    co_await expect_bye(*lurker, ByeReason::registration_timeout);
    co_await expect_closed(*lurker);
    co_await send(*member, request::of_type("ping"));
    co_await expect(*member, EventType::joined);
    co_await expect(*member, EventType::pong);
  });
  t.run();
}

TEST_CASE("resume with the welcome's token takes the nick over from a half-dead connection") {
  ChatdProcess chatd;
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto bob = co_await connect_client(t.io, chatd, "bob");
    co_await expect(*bob, EventType::joined);
    auto old = std::make_unique<Client>(t.io.get_executor());
    {
      auto ec = co_await old->connect(chatd.host(), chatd.port());
      REQUIRE_FALSE(ec);
    }
    auto welcome = co_await old->hello("alice", patience);
    const std::string token = str(welcome.value.at("token"));
    co_await expect(*bob, EventType::joined);

    auto fresh = co_await connect_client(t.io, chatd);
    auto taken = co_await fresh->hello("alice", patience);
    CHECK(taken.error_code() == ErrorCode::nick_taken);
    json::object extra;
    extra["resume"] = token;
    auto resumed = co_await fresh->hello("alice", patience, extra);
    CHECK(resumed.kind() == EventType::welcome);

    co_await expect(*old, EventType::joined, "nick", "alice");
    co_await expect_bye(*old, ByeReason::replaced);
    co_await expect_closed(*old);
    auto left = co_await expect(*bob, EventType::left);
    CHECK(leave_reason(left) == LeaveReason::replaced);
    co_await expect(*bob, EventType::joined, "nick", "alice");
  });
  t.run();
}

TEST_CASE("SIGTERM sends bye shutdown to everyone and exits 0") {
  ChatdProcess chatd;
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto alice = co_await connect_client(t.io, chatd, "alice");
    auto bob = co_await connect_client(t.io, chatd, "bob");
    auto anonymous = co_await connect_client(t.io, chatd);
    co_await expect(*alice, EventType::joined);
    co_await expect(*alice, EventType::joined);
    co_await expect(*bob, EventType::joined);
    // The unregistered one is known to the server once it answers a ping.
    co_await send(*anonymous, request::of_type("ping"));
    co_await expect(*anonymous, EventType::pong);

    chatd.signal(SIGTERM);
    for (Client* c : {alice.get(), bob.get(), anonymous.get()}) {
      co_await expect_bye(*c, ByeReason::shutdown);
      co_await expect_closed(*c);
    }
  });
  t.run();
  CHECK(chatd.wait_exit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("SIGTERM exits as soon as every bye is acknowledged even if no client closes") {
  ChatdProcess chatd({"--max-per-ip", "0", "--connect-rate", "0"});  // the default close grace: 5 s
  AsyncTest t;
  std::vector<std::unique_ptr<Client>> clients;
  std::chrono::steady_clock::time_point signalled;
  t.spawn([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 20; ++i) {
      clients.push_back(co_await connect_client(t.io, chatd, "idle" + std::to_string(i)));
      co_await expect(*clients.back(), EventType::joined);
    }
    signalled = std::chrono::steady_clock::now();
    chatd.signal(SIGTERM);
    for (auto& c : clients) {
      Event bye = co_await c->next_of(EventType::bye, patience);
      REQUIRE_FALSE(bye.ec);
    }
    // Each keeps its end open.
  });
  t.run();
  REQUIRE(chatd.wait_exit(std::chrono::seconds(10)) == 0);
  const auto took = std::chrono::steady_clock::now() - signalled;
  INFO("exit " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms after SIGTERM");
  CHECK(took < 1s);
}

TEST_CASE("SIGTERM twice at once, as timeout(1) sends it, still shuts down gracefully") {
  ChatdProcess chatd;
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto alice = co_await connect_client(t.io, chatd, "alice");
    co_await expect(*alice, EventType::joined);
    chatd.signal(SIGTERM);
    chatd.signal(SIGTERM);
    co_await expect_bye(*alice, ByeReason::shutdown);
    co_await expect_closed(*alice);
  });
  t.run();
  CHECK(chatd.wait_exit(std::chrono::seconds(10)) == 0);
}

// systemctl reload and log-rotation hooks send SIGHUP to whatever runs; a
// chatd with nothing to reload must say so and carry on, not die.
TEST_CASE("SIGHUP without TLS is logged and changes nothing, and SIGTERM still shuts down gracefully") {
  ChatdProcess chatd;
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto alice = co_await connect_client(t.io, chatd, "alice");
    co_await expect(*alice, EventType::joined);
    chatd.signal(SIGHUP);
    // Bounded wait for chatd to have handled it (a dead chatd never logs it).
    bool logged = false;
    for (int i = 0; i < 500 && !logged; ++i) {
      logged = chatd.log().find("SIGHUP") != std::string::npos;
      asio::steady_timer pause(t.io, 10ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
    INFO(chatd.log());
    REQUIRE(logged);
    co_await send(*alice, request::of_type("ping"));
    co_await expect(*alice, EventType::pong);
    auto bob = co_await connect_client(t.io, chatd, "bob");  // still accepting
    co_await expect(*alice, EventType::joined, "nick", "bob");

    co_await expect(*bob, EventType::joined, "nick", "bob");

    chatd.signal(SIGTERM);
    for (Client* c : {alice.get(), bob.get()}) {
      co_await expect_bye(*c, ByeReason::shutdown);
      co_await expect_closed(*c);
    }
  });
  t.run();
  CHECK(chatd.wait_exit(std::chrono::seconds(10)) == 0);
}
