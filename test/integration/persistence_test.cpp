// History that survives chatd: the sqlite store on a data directory kept
// across restarts, crashes (kill -9) and a full disk.
#include <csignal>
#include <map>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include "async_test.hpp"

using namespace corochat;
using namespace corochat::client;
using namespace corochat::test;

namespace {

// The room's stored message lines by seq, as `chatd --export-history` prints them.
std::map<std::int64_t, std::string> exported(const std::string& data_dir, const std::string& room) {
  ProgramRun run = run_program({CHATD_PATH, "--export-history", room, "--data-dir", data_dir}, std::chrono::seconds(20));
  INFO(run.output);
  REQUIRE(run.exit_status == 0);
  std::map<std::int64_t, std::string> by_seq;
  std::istringstream lines(run.output);
  for (std::string line; std::getline(lines, line);) {
    json::object message = json::parse(line).as_object();
    REQUIRE(message.at("type") == "message");
    const bool fresh = by_seq.emplace(message.at("seq").as_int64(), line).second;
    INFO(line);
    REQUIRE(fresh);
  }
  return by_seq;
}

// Stops chatd with SIGTERM and waits for its clean exit.
void stop(ChatdProcess& chatd) {
  chatd.signal(SIGTERM);
  auto status = chatd.wait_exit(std::chrono::seconds(10));
  INFO(chatd.log());
  REQUIRE(status == 0);
}

json::object history(std::string_view room, std::int64_t limit, std::optional<std::int64_t> before,
                     std::optional<std::int64_t> after) {
  json::object h = request::of_type("history");
  h["room"] = room;
  h["limit"] = limit;
  if (before) h["before"] = *before;
  if (after) h["after"] = *after;
  return h;
}

std::vector<std::int64_t> seqs_of(const json::object& reply) {
  std::vector<std::int64_t> seqs;
  for (const auto& m : reply.at("messages").as_array()) seqs.push_back(m.as_object().at("seq").as_int64());
  return seqs;
}

}  // namespace

TEST_CASE("history seq and epoch continue after chatd restarts on the same data directory") {
  ScratchDir dir;
  const std::string data = dir.path() + "/data";
  std::string epoch;
  {
    ChatdProcess chatd({"--data-dir", data});
    AsyncTest t;
    t.spawn([&]() -> asio::awaitable<void> {
      auto alice = std::make_unique<Client>(t.io.get_executor());
      REQUIRE_FALSE(co_await alice->connect(chatd.host(), chatd.port()));
      Event welcome = co_await alice->hello("alice", patience);
      REQUIRE(welcome.kind() == EventType::welcome);
      epoch = str(welcome.value.at("epoch"));
      co_await expect(*alice, EventType::joined);
      for (int i = 1; i <= 5; ++i) {
        co_await send(*alice, request::say("lobby", "before restart " + std::to_string(i)));
        co_await expect(*alice, EventType::message, "seq", i);
      }
    });
    t.run();
    stop(chatd);
  }
  REQUIRE(exported(data, "lobby").size() == 5);

  // A window of 2 messages in memory: older pages come from the store.
  ChatdProcess chatd({"--data-dir", data, "--history", "2"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto bob = std::make_unique<Client>(t.io.get_executor());
    REQUIRE_FALSE(co_await bob->connect(chatd.host(), chatd.port()));
    Event welcome = co_await bob->hello("bob", patience);
    REQUIRE(welcome.kind() == EventType::welcome);
    CHECK(str(welcome.value.at("epoch")) == epoch);
    co_await expect(*bob, EventType::joined);

    co_await send(*bob, history("lobby", 2, std::nullopt, std::nullopt));
    json::object latest = co_await expect(*bob, EventType::history);
    CHECK(seqs_of(latest) == std::vector<std::int64_t>{4, 5});
    CHECK(latest.at("messages").as_array()[1].as_object().at("text") == "before restart 5");

    co_await send(*bob, request::say("lobby", "after restart"));
    co_await expect(*bob, EventType::message, "seq", 6);

    co_await send(*bob, history("lobby", 2, 3, std::nullopt));
    json::object back = co_await expect(*bob, EventType::history);
    CHECK(seqs_of(back) == std::vector<std::int64_t>{1, 2});
    co_await send(*bob, history("lobby", 2, std::nullopt, 2));
    json::object forward = co_await expect(*bob, EventType::history);
    CHECK(seqs_of(forward) == std::vector<std::int64_t>{3, 4});
    co_await send(*bob, history("lobby", 2, 5, 2));
    json::object between = co_await expect(*bob, EventType::history);
    CHECK(seqs_of(between) == std::vector<std::int64_t>{3, 4});
    co_await send(*bob, history("lobby", 2, std::nullopt, 5));
    json::object newest = co_await expect(*bob, EventType::history);
    CHECK(seqs_of(newest) == std::vector<std::int64_t>{6});
  });
  t.run();
  stop(chatd);
  CHECK(exported(data, "lobby").size() == 6);
}

TEST_CASE("after kill -9 in a flood every message a client received is stored with its seq and seq goes on") {
  ScratchDir dir;
  const std::string data = dir.path() + "/data";
  std::map<std::int64_t, std::string> received;  // every client's, all rounds
  std::int64_t stored_before = 0;
  for (int round = 0; round < 5; ++round) {
    ChatdProcess chatd({"--data-dir", data, "--flood-rate", "0"});
    AsyncTest t;
    std::size_t seen = 0;
    int ready = 0;  // clients registered: the kill waits for all, so it finds each one flooding
    std::int64_t lowest = std::numeric_limits<std::int64_t>::max();
    for (int c = 0; c < 3; ++c) {
      t.spawn([&, c]() -> asio::awaitable<void> {
        // A nick of its own each round: the last round's are kept for their owners after the kill.
        auto client = co_await connect_client(t.io, chatd, "flood" + std::to_string(round) + "-" + std::to_string(c));
        co_await expect(*client, EventType::joined);
        ++ready;
        std::string burst;
        for (int i = 0; i < 200; ++i)
          burst += R"({"type":"say","room":"lobby","text":"round )" + std::to_string(round) + " client " +
                   std::to_string(c) + " message " + std::to_string(i) + "\"}\n";
        co_await client->send_raw(std::move(burst));  // may fail once chatd is killed
        for (;;) {
          Event e = co_await client->next(patience);
          if (e.ec) break;  // killed: the connection ends
          if (e.kind() != EventType::message) continue;
          const std::int64_t seq = e.value.at("seq").as_int64();
          lowest = std::min(lowest, seq);
          ++seen;
          auto [at, fresh] = received.emplace(seq, e.line);
          INFO(e.line);
          REQUIRE(at->second == e.line);  // every client got the same line for a seq
        }
      });
    }
    t.spawn([&]() -> asio::awaitable<void> {
      asio::steady_timer timer(t.io);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while ((ready < 3 || seen < 60 + 40 * static_cast<std::size_t>(round % 3)) &&
             std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(1));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      chatd.signal(SIGKILL);
    });
    t.run(std::chrono::seconds(20));
    REQUIRE(chatd.wait_exit(std::chrono::seconds(5)));
    REQUIRE(seen > 0);
    CHECK(lowest == stored_before + 1);  // seq went on from what was stored

    const auto stored = exported(data, "lobby");
    REQUIRE(!stored.empty());
    // 1..N, no gap, no repeat (the map holds each once).
    CHECK(stored.begin()->first == 1);
    CHECK(stored.rbegin()->first == static_cast<std::int64_t>(stored.size()));
    for (const auto& [seq, line] : received) {
      auto it = stored.find(seq);
      INFO("seq " << seq << " received, not stored");
      REQUIRE(it != stored.end());
      CHECK(it->second == line);
    }
    stored_before = static_cast<std::int64_t>(stored.size());
  }
}

TEST_CASE("a full store answers unavailable to the sender only and chatd keeps serving") {
  // A database capped a few pages above its empty size: messages of 3000
  // bytes fill it after a handful.
  ChatdProcess chatd({"--store-max-pages", "12", "--flood-rate", "0"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto bob = co_await connect_client(t.io, chatd, "bob");
    co_await expect(*bob, EventType::joined);
    auto alice = co_await connect_client(t.io, chatd, "alice");
    co_await expect(*alice, EventType::joined);
    co_await expect(*bob, EventType::joined, "nick", "alice");
    std::int64_t committed = 0;
    bool refused = false;
    for (int i = 0; i < 200 && !refused; ++i) {
      json::object say = request::say("lobby", std::string(3000, 'a' + i % 26));
      say["id"] = i;
      co_await send(*alice, say);
      Event e = co_await alice->next(patience);
      REQUIRE_FALSE(e.ec);
      INFO(e.line);
      if (e.kind() == EventType::error) {
        CHECK(e.code() == ErrorCode::unavailable);
        CHECK(e.value.at("id") == i);
        refused = true;
      } else {
        REQUIRE(e.kind() == EventType::message);
        CHECK(e.value.at("seq") == ++committed);
      }
    }
    REQUIRE(refused);
    // Bob got exactly the committed ones, in seq order, nothing of the refused.
    for (std::int64_t seq = 1; seq <= committed; ++seq) co_await expect(*bob, EventType::message, "seq", seq);
    co_await send(*bob, request::of_type("ping"));
    co_await expect(*bob, EventType::pong);
    // Still serving: requests that need no space are answered.
    co_await send(*alice, request::msg("bob", "still here"));
    co_await expect(*alice, EventType::private_message);
    co_await expect(*bob, EventType::private_message, "text", "still here");
    co_await send(*alice, request::of_type("ping"));
    co_await expect(*alice, EventType::pong);
  });
  t.run();
}

// A server upgrade costs users a reconnect, not their nick: for a while after
// a restart (clean or kill -9), the nick of a connection that was open needs
// its token from before.
TEST_CASE("after a restart a nick that was connected is kept for its resume token") {
  ScratchDir dir;
  const std::string data = dir.path() + "/data";
  for (int signal : {SIGTERM, SIGKILL}) {
    INFO("signal " << signal);
    std::string token;
    const std::string nick = "alice" + std::to_string(signal);  // each round's own: the last one's is kept too
    {
      ChatdProcess chatd({"--data-dir", data});
      AsyncTest t;
      std::unique_ptr<Client> alice;  // open until chatd stops: a connection that ends gives its nick up
      t.spawn([&]() -> asio::awaitable<void> {
        alice = std::make_unique<Client>(t.io.get_executor());
        REQUIRE_FALSE(co_await alice->connect(chatd.host(), chatd.port()));
        Event welcome = co_await alice->hello(nick, patience);
        REQUIRE(welcome.kind() == EventType::welcome);
        token = str(welcome.value.at("token"));
        co_await expect(*alice, EventType::joined);
        // The token is stored with the next commit: a message makes sure it is done.
        co_await send(*alice, request::say("lobby", "still here"));
        co_await expect(*alice, EventType::message);
      });
      t.run();
      chatd.signal(signal);
      REQUIRE(chatd.wait_exit(std::chrono::seconds(10)));
    }
    ChatdProcess chatd({"--data-dir", data});
    AsyncTest t;
    t.spawn([&]() -> asio::awaitable<void> {
      auto mallory = std::make_unique<Client>(t.io.get_executor());
      REQUIRE_FALSE(co_await mallory->connect(chatd.host(), chatd.port()));
      json::object wrong_token{{"resume", "not-the-token"}};
      Event refused = co_await mallory->hello("ALICE" + std::to_string(signal), patience, std::move(wrong_token));
      CHECK(refused.code() == ErrorCode::nick_taken);

      auto alice = std::make_unique<Client>(t.io.get_executor());
      REQUIRE_FALSE(co_await alice->connect(chatd.host(), chatd.port()));
      json::object resume{{"resume", token}};
      Event welcome = co_await alice->hello(nick, patience, std::move(resume));
      CHECK(welcome.kind() == EventType::welcome);
      co_await expect(*alice, EventType::joined);
      co_await send(*alice, request::say("lobby", "back"));
      co_await expect(*alice, EventType::message);
    });
    t.run();
    stop(chatd);
  }
}
