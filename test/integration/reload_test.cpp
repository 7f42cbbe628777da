// SIGHUP on a running chatd reads its --config file again: new connections
// get the new MOTD and flood limit, open ones stay open, and a broken file
// changes nothing.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "async_test.hpp"

using namespace corochat;
using namespace corochat::test;

namespace {

// The configuration file of one test, removed at the end.
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text) {
    char name[] = "/tmp/chatd-reload-XXXXXX.toml";
    const int fd = ::mkstemps(name, 5);
    REQUIRE(fd >= 0);
    ::close(fd);
    path_ = name;
    write(text);
  }
  ~ConfigFile() { std::remove(path_.c_str()); }
  ConfigFile(const ConfigFile&) = delete;
  ConfigFile& operator=(const ConfigFile&) = delete;
  // Replaced whole, as an editor or a package upgrade does it.
  void write(const std::string& text) const {
    const std::string next = path_ + ".new";
    std::ofstream(next) << text;
    REQUIRE(std::rename(next.c_str(), path_.c_str()) == 0);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Sends SIGHUP and waits (bounded) until chatd has logged `what` once more.
asio::awaitable<void> reload(asio::io_context& io, ChatdProcess& chatd, const std::string& what) {
  const std::size_t before = occurrences(chatd.log(), what);
  chatd.signal(SIGHUP);
  bool logged = false;
  for (int i = 0; i < 500 && !logged; ++i) {
    logged = occurrences(chatd.log(), what) > before;
    asio::steady_timer pause(io, 10ms);
    co_await pause.async_wait(asio::use_awaitable);
  }
  INFO(chatd.log());
  REQUIRE(logged);
}

// Connects and says hello as `nick`; the welcome.
asio::awaitable<json::object> join(asio::io_context& io, ChatdProcess& chatd, std::unique_ptr<Client>& client,
                                   const std::string& nick) {
  client = std::make_unique<Client>(io.get_executor());
  auto ec = co_await client->connect(chatd.host(), chatd.port());
  REQUIRE_FALSE(ec);
  Event welcome = co_await client->hello(nick, patience);
  INFO(welcome.line);
  REQUIRE(welcome.kind() == EventType::welcome);
  co_await expect(*client, EventType::joined, "nick", json::value(nick));  // the default room
  co_return std::move(welcome.value);
}

// Sends `n` pings at once; how many were refused as rate_limited before the
// last pong.
asio::awaitable<int> refused_pings(Client& client, int n) {
  for (int i = 1; i <= n; ++i) {
    json::object ping = client::request::of_type("ping");
    ping["id"] = i;
    co_await send(client, ping);
  }
  int refused = 0;
  int answered = 0;
  while (answered < n) {
    Event e = co_await client.next(patience);
    INFO(e.line);
    REQUIRE_FALSE(e.ec);
    if (e.kind() == EventType::pong) ++answered;
    if (e.kind() == EventType::error) {
      CHECK(e.error_code() == ErrorCode::rate_limited);
      ++refused;
      ++answered;
    }
  }
  co_return refused;
}

// Answers a ping, with pong or, over its flood limit, rate_limited
// (whatever else it was sent meanwhile).
asio::awaitable<void> still_open(Client& client) {
  co_await send(client, client::request::of_type("ping"));
  for (;;) {
    Event e = co_await client.next(patience);
    INFO(e.line);
    REQUIRE_FALSE(e.ec);
    if (e.kind() == EventType::pong) break;
    if (e.kind() == EventType::error) {
      CHECK(e.error_code() == ErrorCode::rate_limited);
      break;
    }
  }
}

}  // namespace

TEST_CASE("SIGHUP applies the new MOTD and flood limit to new connections and keeps the open ones", "[reload]") {
  ConfigFile config("motd = \"first\"\nflood-rate = 100\nflood-burst = 100\n");
  ChatdProcess chatd({"--config", config.path(), "--store", "memory"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    std::unique_ptr<Client> alice;
    json::object welcome = co_await join(t.io, chatd, alice, "alice");
    CHECK(welcome.at("motd") == "first");
    CHECK(welcome.at("limits").at("rate") == 100);

    config.write("motd = \"second\"\nflood-rate = 1\nflood-burst = 2\nport = 1\n");
    co_await reload(t.io, chatd, "SIGHUP: reloaded the configuration");
    const std::string log = chatd.log();
    CHECK(log.find("applied flood-rate, flood-burst, motd") != std::string::npos);
    // The command line's --port wins over the file: nothing to restart for.
    CHECK(log.find("port changed") == std::string::npos);

    std::unique_ptr<Client> bob;
    welcome = co_await join(t.io, chatd, bob, "bob");
    CHECK(welcome.at("motd") == "second");
    CHECK(welcome.at("limits").at("rate") == 1);
    CHECK(welcome.at("limits").at("burst") == 2);
    co_await expect(*alice, EventType::joined, "nick", "bob");
    const int bob_refused = co_await refused_pings(*bob, 5);
    CHECK(bob_refused >= 2);  // a burst of 2, then one a second
    // alice keeps the limit she connected with.
    const int alice_refused = co_await refused_pings(*alice, 5);
    CHECK(alice_refused == 0);

    // A setting that needs a restart is said so, and the rest still applies.
    config.write("motd = \"third\"\nflood-rate = 1\nflood-burst = 2\nhistory = 5\n");
    co_await reload(t.io, chatd, "SIGHUP: reloaded the configuration");
    CHECK(chatd.log().find("SIGHUP: history changed; it takes effect when chatd is restarted") != std::string::npos);
    std::unique_ptr<Client> carol;
    welcome = co_await join(t.io, chatd, carol, "carol");
    CHECK(welcome.at("motd") == "third");
    CHECK(welcome.at("limits").at("history") == 100);

    // Every connection is still open.
    for (Client* c : {alice.get(), bob.get(), carol.get()}) co_await still_open(*c);
  });
  t.run();
  CHECK_FALSE(chatd.wait_exit(std::chrono::milliseconds(0)));
}

TEST_CASE("SIGHUP with a broken config file keeps the current settings and says why", "[reload]") {
  ConfigFile config("motd = \"kept\"\n");
  ChatdProcess chatd({"--config", config.path(), "--store", "memory"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    std::unique_ptr<Client> alice;
    json::object welcome = co_await join(t.io, chatd, alice, "alice");
    CHECK(welcome.at("motd") == "kept");

    config.write("motd = \"lost\"\nflood-rate = 1\nmtod = \"typo\"\n");
    co_await reload(t.io, chatd, "SIGHUP: keeping the current configuration");
    CHECK(chatd.log().find(config.path() + ":3: unknown setting 'mtod'") != std::string::npos);
    std::unique_ptr<Client> bob;
    welcome = co_await join(t.io, chatd, bob, "bob");
    CHECK(welcome.at("motd") == "kept");
    CHECK(welcome.at("limits").at("rate") == 10);

    config.write("motd = \"lost\"\nmax-line = 1\n");
    co_await reload(t.io, chatd, "SIGHUP: keeping the current configuration");
    CHECK(chatd.log().find(config.path() + ":2: max-line must be") != std::string::npos);
    std::unique_ptr<Client> carol;
    welcome = co_await join(t.io, chatd, carol, "carol");
    CHECK(welcome.at("motd") == "kept");
    for (Client* c : {alice.get(), bob.get(), carol.get()}) co_await still_open(*c);
  });
  t.run();
  CHECK_FALSE(chatd.wait_exit(std::chrono::milliseconds(0)));
}
