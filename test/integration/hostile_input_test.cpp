// Peers that send what makes no request (empty lines, the tail of an
// over-long line, bytes after quit) as fast as they can, and peers that ask
// for more than their queue holds: everyone else is still served promptly, and
// the asker gets everything it asked for.
#include "async_test.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace corochat;
using namespace corochat::client;
using namespace corochat::test;

namespace {

// A peer on its own thread writing `prefix`, then `filler` over and over as
// fast as the socket takes it, until stopped or until chatd closes it.
class Blaster {
 public:
  Blaster(const ChatdProcess& chatd, std::string prefix, std::string filler)
      : prefix_(std::move(prefix)), filler_(std::move(filler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(chatd.port())));
    REQUIRE(::inet_pton(AF_INET, chatd.host().c_str(), &address.sin_addr) == 1);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    thread_ = std::thread([this] { run(); });
  }
  ~Blaster() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // unblocks a send waiting for room
    thread_.join();
    ::close(fd_);
  }
  std::size_t sent() const { return sent_; }
  // chatd closed the connection (a send failed before stop()).
  bool ended_by_server() const { return ended_by_server_; }

 private:
  void run() {
    std::string chunk = prefix_;
    while (chunk.size() < 64 * 1024) chunk += filler_;
    bool first = true;
    while (!stopping_) {
      const std::string_view data = first ? std::string_view(chunk) : std::string_view(chunk).substr(prefix_.size());
      first = false;
      std::size_t offset = 0;
      while (offset < data.size() && !stopping_) {
        const ssize_t n = ::send(fd_, data.data() + offset, data.size() - offset, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          if (!stopping_) ended_by_server_ = true;
          return;
        }
        offset += static_cast<std::size_t>(n);
        sent_ += static_cast<std::size_t>(n);
      }
    }
  }

  std::string prefix_;
  std::string filler_;
  int fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ended_by_server_{false};
  std::atomic<std::size_t> sent_{0};
};

#ifdef COROCHAT_SANITIZE
constexpr auto pong_bound = 250ms;  // the sanitizers slow chatd several times over
#else
constexpr auto pong_bound = 50ms;
#endif

// 200 pings from a registered client, one every 7 ms (within a flood limit of
// 100 a second, burst 200); returns the 99th percentile of the round trips.
asio::awaitable<std::chrono::microseconds> ping_p99(Client& client) {
  std::vector<std::chrono::microseconds> round_trips;
  asio::steady_timer pace(co_await asio::this_coro::executor);
  while (round_trips.size() < 200) {
    pace.expires_after(7ms);
    co_await pace.async_wait(asio::use_awaitable);
    const auto sent = std::chrono::steady_clock::now();
    co_await send(client, request::of_type("ping"));
    Event e = co_await client.next_of(EventType::pong, patience);
    REQUIRE_FALSE(e.ec);
    round_trips.push_back(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sent));
  }
  std::sort(round_trips.begin(), round_trips.end());
  co_return round_trips[round_trips.size() * 99 / 100];
}

// One blaster beside a pinging client and a newcomer: the pongs stay prompt
// and the newcomer is welcomed.
void check_others_served_beside(std::vector<std::string> chatd_args, std::string prefix, std::string filler) {
  ChatdProcess chatd(std::move(chatd_args));
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto pinger = co_await connect_client(t.io, chatd, "pinger");
    co_await expect(*pinger, EventType::joined);
    Blaster blaster(chatd, prefix, filler);
    // Wait until the blast is under way (bounded).
    for (int i = 0; i < 500 && blaster.sent() < 1024 * 1024; ++i) {
      asio::steady_timer pause(t.io, 2ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
    CHECK(blaster.sent() >= 1024 * 1024);
    const auto p99 = co_await ping_p99(*pinger);
    INFO("pong p99 " << p99.count() << " us beside a blaster that sent " << blaster.sent() << " bytes");
    CHECK(p99 < pong_bound);
    auto newcomer = co_await connect_client(t.io, chatd, "newcomer");  // welcomed within `patience`
    blaster.stop();
  });
  t.run();
}

// The next event of `type` (never co_await inside an assertion: see async_test.hpp).
asio::awaitable<void> next_of_type(Client& client, EventType kind) {
  Event e = co_await client.next_of(kind, patience);
  INFO("waiting for " << protocol::to_string(kind) << ": " << e.ec.message());
  REQUIRE_FALSE(e.ec);
}
asio::awaitable<void> next_of_type(std::unique_ptr<Client>& client, EventType kind) {
  co_await next_of_type(*client, kind);
}

// `count` messages of `size` bytes in one write, then their echoes read back,
// so that the writer's own queue never fills.
asio::awaitable<void> say_and_read_echoes(Client& writer, const std::string& room, int count, std::size_t size) {
  std::string says;
  for (int i = 0; i < count; ++i) says += json::serialize(request::say(room, std::string(size, static_cast<char>('a' + i % 26)))) + "\n";
  co_await send_raw(writer, says);
  for (int i = 0; i < count; ++i) co_await next_of_type(writer, EventType::message);
}

const std::string hello_line = "{\"type\":\"hello\",\"nick\":\"blaster\"}\n";

}  // namespace

// The flood limit in force for these tests: 100 a second, so that the pinger
// can ping often enough for a percentile.
const std::vector<std::string> flood_limit = {"--flood-rate", "100", "--flood-burst", "200"};

TEST_CASE("a peer sending only empty lines does not delay anyone's pong", "[hostile]") {
  SECTION("with the flood limit") { check_others_served_beside(flood_limit, "", "\n"); }
  SECTION("without a flood limit") { check_others_served_beside({"--flood-rate", "0"}, "", "\r\n"); }
  SECTION("registered") { check_others_served_beside({"--flood-rate", "0"}, hello_line, "\n"); }
}

TEST_CASE("a peer sending an endless over-long line does not delay anyone's pong", "[hostile]") {
  SECTION("with the flood limit") { check_others_served_beside(flood_limit, "{\"type\":\"say\",\"text\":\"", "aaaaaaaa"); }
  SECTION("without a flood limit") {
    check_others_served_beside({"--flood-rate", "0"}, "{\"type\":\"say\",\"text\":\"", "aaaaaaaa");
  }
}

TEST_CASE("a peer sending bytes after quit does not delay anyone's pong", "[hostile]") {
  const std::string quit = hello_line + "{\"type\":\"quit\"}\n";
  SECTION("with the flood limit") { check_others_served_beside(flood_limit, quit, "{\"type\":\"ping\"}\n"); }
  SECTION("without a flood limit") { check_others_served_beside({"--flood-rate", "0"}, quit, "xxxxxxx\n"); }
}

TEST_CASE("the registration deadline closes a peer however fast it sends empty lines", "[hostile]") {
  ChatdProcess chatd({"--flood-rate", "0", "--registration-timeout", "300ms", "--close-grace", "300ms"});
  Blaster blaster(chatd, "", "\n");
  const auto start = std::chrono::steady_clock::now();
  while (!blaster.ended_by_server() && std::chrono::steady_clock::now() - start < 10s)
    std::this_thread::sleep_for(5ms);
  CHECK(blaster.ended_by_server());
  CHECK(std::chrono::steady_clock::now() - start < 3s);  // 300 ms to register, 300 ms to close
}

TEST_CASE("pipelined history requests whose replies pass the queue are all answered", "[hostile]") {
  // Six replies of about 210 KB against a 1 MiB queue: the sixth would
  // overflow it if the requests all ran before the client could read.
  ChatdProcess chatd({"--flood-rate", "0"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto writer = co_await connect_client(t.io, chatd, "writer");
    auto reader = co_await connect_client(t.io, chatd, "reader");
    co_await expect(*writer, EventType::joined);
    co_await expect(*writer, EventType::joined);
    for (int i = 0; i < 100; i += 10) co_await say_and_read_echoes(*writer, "lobby", 10, 2000);
    for (int i = 0; i < 100; ++i) co_await next_of_type(reader, EventType::message);

    constexpr int histories = 6;
    std::string requests;
    for (int i = 0; i < histories; ++i)
      requests += "{\"type\":\"history\",\"room\":\"lobby\",\"limit\":100,\"id\":" + std::to_string(i) + "}\n";
    for (int i = 0; i < 12; ++i) requests += "{\"type\":\"rooms\",\"id\":" + std::to_string(histories + i) + "}\n";
    requests += "{\"type\":\"ping\",\"id\":" + std::to_string(histories + 12) + "}\n";
    co_await send_raw(*reader, requests);
    for (int i = 0; i < histories + 13; ++i) {
      Event e = co_await reader->next(patience);
      INFO("reply " << i << ": " << (e.ec ? e.ec.message() : e.line.substr(0, 200)));
      REQUIRE_FALSE(e.ec);
      CHECK(e.value.at("id") == i);
      if (i < histories) {
        CHECK(e.kind() == EventType::history);
        CHECK(e.value.at("messages").as_array().size() == 100);
      } else {
        CHECK(e.kind() == (i < histories + 12 ? EventType::rooms : EventType::pong));
      }
    }
  });
  t.run();
}

TEST_CASE("a client in 20 rooms asking each room's history at once gets every reply", "[hostile]") {
  ChatdProcess chatd({"--flood-rate", "0"});
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto writer = co_await connect_client(t.io, chatd, "writer");
    auto reader = co_await connect_client(t.io, chatd, "reader");
    std::string joins;
    for (int room = 0; room < 20; ++room) joins += json::serialize(request::join("r" + std::to_string(room))) + "\n";
    co_await send_raw(*reader, joins);
    for (int room = 0; room < 20; ++room) co_await next_of_type(reader, EventType::joined);
    co_await send_raw(*writer, joins);
    for (int room = 0; room < 20; ++room) co_await next_of_type(writer, EventType::joined);
    // About 68 KB of history a room, 1.4 MB in all.
    for (int room = 0; room < 20; ++room) co_await say_and_read_echoes(*writer, "r" + std::to_string(room), 40, 1600);
    for (int i = 0; i < 800; ++i) co_await next_of_type(reader, EventType::message);

    std::string requests;
    for (int room = 0; room < 20; ++room)
      requests += "{\"type\":\"history\",\"room\":\"r" + std::to_string(room) + "\",\"id\":" + std::to_string(room) + "}\n";
    co_await send_raw(*reader, requests);
    for (int room = 0; room < 20; ++room) {
      Event e = co_await reader->next_of(EventType::history, patience);
      INFO(e.ec.message());
      REQUIRE_FALSE(e.ec);
      CHECK(e.value.at("id") == room);
      CHECK(e.value.at("messages").as_array().size() == 40);
    }
  });
  t.run();
}
