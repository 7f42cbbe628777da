// Bad input and greedy peers: each gets a clear error or a clean disconnect,
// and nobody else notices.
#include "async_test.hpp"

#include <algorithm>
#include <fstream>

#include <unistd.h>

using namespace corochat;
using namespace corochat::client;
using namespace corochat::test;

TEST_CASE("oversized and malformed lines get errors in order while others chat on") {
  ChatdProcess chatd({"--max-line", "1024", "--flood-rate", "0"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto bad = co_await connect_client(t.io, chatd, "bad");
    auto alice = co_await connect_client(t.io, chatd, "alice");
    auto bob = co_await connect_client(t.io, chatd, "bob");
    co_await expect(*bad, EventType::joined);
    co_await expect(*bad, EventType::joined);
    co_await expect(*alice, EventType::joined);
    co_await expect(*alice, EventType::joined);
    co_await expect(*bob, EventType::joined);

    // A 5000-byte line sent in pieces, then garbage, then a good request.
    const std::string huge = R"({"type":"say","room":"lobby","text":")" + std::string(5000, 'a') + "\"}\n";
    for (std::size_t i = 0; i < huge.size(); i += 700) co_await send_raw(*bad, huge.substr(i, 700));
    co_await send_raw(*bad, "{bad\n[1,2]\n{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"\xff\"}\n");
    co_await send_raw(*bad, "{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"still here\",\"id\":1}\n");

    co_await send(*alice, request::say("lobby", "hi bob"));

    // The bad connection's replies come in the order of its lines; alice's
    // message may fall anywhere among them.
    std::vector<std::string> replies;
    for (;;) {
      auto e = co_await bad->next(patience);
      REQUIRE_FALSE(e.ec);
      if (e.kind() == EventType::error) replies.push_back(str(e.value.at("code")));
      if (e.kind() == EventType::message && e.value.at("from") == "bad") {
        CHECK(e.value.at("id") == 1);
        replies.push_back(str(e.value.at("text")));
        break;
      }
    }
    CHECK(replies == std::vector<std::string>{"line_too_long", "bad_json", "bad_json", "bad_json", "still here"});
    // bob gets both messages, in whichever order the server took them.
    std::vector<std::string> texts;
    for (int i = 0; i < 2; ++i) texts.push_back(str((co_await expect(*bob, EventType::message)).at("text")));
    std::sort(texts.begin(), texts.end());
    CHECK(texts == std::vector<std::string>{"hi bob", "still here"});
  });
  t.run();
}

TEST_CASE("a flood is answered with rate_limited while the connection stays") {
  ChatdProcess chatd({"--flood-rate", "5", "--flood-burst", "5"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto c = co_await connect_client(t.io, chatd, "flooder");
    co_await expect(*c, EventType::joined);
    std::string burst;
    for (int i = 0; i < 30; ++i) burst += "{\"type\":\"ping\",\"id\":" + std::to_string(i) + "}\n";
    co_await send_raw(*c, burst);
    int pongs = 0, limited = 0;
    for (int i = 0; i < 30; ++i) {
      auto e = co_await c->next(patience);
      REQUIRE_FALSE(e.ec);
      CHECK(e.value.at("id") == i);  // every reply in its place
      if (e.kind() == EventType::pong) ++pongs;
      else if (e.kind() == EventType::error && e.error_code() == ErrorCode::rate_limited) ++limited;
    }
    CHECK(pongs >= 4);  // the burst of 5, less the hello
    CHECK(pongs < 10);
    CHECK(pongs + limited == 30);
    // Still connected and served once the bucket refills.
    asio::steady_timer wait(t.io, 500ms);
    co_await wait.async_wait(asio::use_awaitable);
    co_await send(*c, request::of_type("ping"));
    co_await expect(*c, EventType::pong);
  });
  t.run();
}

// Replies to one's own burst are not room traffic one failed to read: the
// server stops reading the sender until it catches up, instead of dropping it.
TEST_CASE("a burst whose replies pass the queue bound is answered in full, not cut off as slow") {
  ChatdProcess chatd({"--flood-rate", "0", "--queue-bytes", "16384", "--max-text", "256"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto c = co_await connect_client(t.io, chatd, "talker");
    co_await expect(*c, EventType::joined);
    constexpr int lines = 400;  // about 40 KB of replies
    std::string burst;
    for (int i = 0; i < lines; ++i)
      burst += R"({"type":"say","room":"lobby","text":"burst line )" + std::to_string(i) + R"(","id":)" +
               std::to_string(i) + "}\n";
    co_await send_raw(*c, std::move(burst));
    for (int i = 0; i < lines; ++i) {
      auto e = co_await c->next(patience);
      INFO("reply " << i << ": " << (e.ec ? e.ec.message() : e.line));
      REQUIRE_FALSE(e.ec);
      REQUIRE(e.kind() == EventType::message);
      CHECK(e.value.at("id") == i);
    }
  });
  t.run();
}

TEST_CASE("past max clients a connection gets server_full and is closed") {
  ChatdProcess chatd({"--max-clients", "2"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto a = co_await connect_client(t.io, chatd, "a");
    auto b = co_await connect_client(t.io, chatd, "b");
    auto c = co_await connect_client(t.io, chatd);
    co_await expect_error(*c, ErrorCode::server_full);
    co_await expect_bye(*c, ByeReason::server_full);
    co_await expect_closed(*c);
    // The first two are unaffected.
    co_await send(*a, request::of_type("ping"));
    co_await expect(*a, EventType::joined, "nick", "a");
    co_await expect(*a, EventType::joined, "nick", "b");
    co_await expect(*a, EventType::pong);
  });
  t.run();
}

TEST_CASE("a server password is checked before anything else in hello") {
  char path[] = "/tmp/chatd-password-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream(path) << "s3cret\n";
  ChatdProcess chatd({"--password-file", path});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto wrong = co_await connect_client(t.io, chatd);
    json::object extra;
    extra["password"] = "guess";
    extra["id"] = 5;
    auto reply = co_await wrong->hello("mallory", patience, extra);
    CHECK(reply.error_code() == ErrorCode::auth_failed);
    CHECK(reply.value.at("id") == 5);
    auto bye = co_await expect_bye(*wrong, ByeReason::auth_failed);
    CHECK(bye.at("id") == 5);
    co_await expect_closed(*wrong);

    auto right = co_await connect_client(t.io, chatd);
    extra["password"] = "s3cret";
    auto welcome = co_await right->hello("alice", patience, extra);
    CHECK(welcome.kind() == EventType::welcome);
  });
  t.run();
  ::unlink(path);
}
