// Everything a public port sees at once, for a few seconds: chatters, a
// flooder, a slow reader, a client sending garbage, and clients that vanish
// mid-line. The chatters must lose nothing and see no reordering; the greedy
// and the broken are limited or disconnected; chatd's heap comes back.
#include "async_test.hpp"

#include <map>
#include <random>
#include <set>
#include <thread>

using namespace corochat;
using namespace corochat::client;
using namespace corochat::test;

namespace {

asio::awaitable<void> pause(asio::io_context& io, Millis how_long) {
  asio::steady_timer timer(io, how_long);
  co_await timer.async_wait(asio::use_awaitable);
}

// Waits (bounded) until `done()` holds; the others make progress meanwhile.
// Conditions are named objects passed by reference: GCC 12 mishandles a
// temporary built inside a co_await expression.
using Condition = std::function<bool()>;
asio::awaitable<void> wait_until(asio::io_context& io, const Condition& done) {
  for (int i = 0; i < 3000 && !done(); ++i) co_await pause(io, 10ms);
  REQUIRE(done());
}

// Joins `room` and waits for the client's own `joined`: nothing said there
// after this is missed.
asio::awaitable<void> join(Client& client, const std::string& room) {
  co_await send(client, request::join(room));
  Event own = co_await client.next_of(EventType::joined, patience);
  REQUIRE_FALSE(own.ec);
}

constexpr int chatters = 6;
constexpr int per_room = 30;  // messages each chatter says in each of its rooms
constexpr int flood_lines = 3000;
constexpr int bulk_messages = 1000;  // of 4000 bytes, into the room the slow reader is in
constexpr int vanishers = 30;

std::vector<std::string> rooms_of_chatter(int i) {
  if (i % 2 == 0) return {"a", "b"};
  return {"a"};
}

int chatters_in(const std::string& room) {
  int n = 0;
  for (int i = 0; i < chatters; ++i)
    for (const auto& r : rooms_of_chatter(i)) n += r == room;
  return n;
}

struct Observed {
  std::map<std::string, std::set<std::string>> texts;  // room -> chatter texts received
  std::map<std::string, std::uint64_t> last_seq;
  std::set<std::string> slow_left_rooms;               // rooms where "slow" left as a slow consumer
};

}  // namespace

TEST_CASE("under flooding, garbage, a slow reader and vanishing peers, chatters lose nothing", "[stress]") {
  // Loopback's kernel buffers take megabytes before chatd's queue fills, so
  // the bulk room carries enough for the slow reader to fall behind for real.
  // No store: the flood limit is checked against the wall time the flood
  // takes (a store's commits stretch it), and the heap against its start (a
  // store's page cache grows to megabytes).
  ChatdProcess chatd({"--max-per-ip", "0", "--connect-rate", "0", "--flood-rate", "1000", "--flood-burst", "1000",
                      "--queue-bytes", "262144", "--max-line", "8192", "--history", "10", "--default-room", "",
                      "--store", "memory"});
  const std::size_t heap_before = chatd.stats().at("heap_bytes");

  AsyncTest t;
  int ready = 0;  // chatters, the flooder and the slow reader, registered and joined
  constexpr int participants = chatters + 3;
  const Condition everyone_ready = [&] { return ready == participants; };
  std::vector<Observed> observed(chatters);
  int chatters_done = 0;
  const Condition all_chatters_done = [&] { return chatters_done == chatters; };
  int flood_limited = 0, flood_accepted = 0;
  int garbage_errors = 0;
  int bulk_received = 0;
  bool garbage_closed = false;

  for (int i = 0; i < chatters; ++i) {
    t.spawn([&, i]() -> asio::awaitable<void> {
      const std::string nick = "c" + std::to_string(i);
      auto me = co_await connect_client(t.io, chatd, nick);
      for (const auto& room : rooms_of_chatter(i)) co_await join(*me, room);
      ++ready;
      co_await wait_until(t.io, everyone_ready);

      // Say, paced under the flood limit, while reading what arrives.
      bool sending_done = false;
      t.spawn([&, i, client = me.get()]() -> asio::awaitable<void> {
        for (int k = 0; k < per_room; ++k)
          for (const auto& room : rooms_of_chatter(i)) {
            std::string text = "c" + std::to_string(i) + "-" + room + "-" + std::to_string(k) + "-";
            text.resize(3000, 'x');
            co_await send(*client, request::say(room, text));
            co_await pause(t.io, 60ms);
          }
        sending_done = true;
      });

      auto& seen = observed[i];
      auto complete = [&] {
        for (const auto& room : rooms_of_chatter(i))
          if (seen.texts[room].size() != static_cast<std::size_t>(chatters_in(room) * per_room)) return false;
        return true;
      };
      while (!complete()) {
        Event e = co_await me->next(std::chrono::seconds(20));
        INFO("chatter " << i << ": " << (e.ec ? e.ec.message() : e.line));
        REQUIRE_FALSE(e.ec);
        if (e.kind() == EventType::message) {
          const std::string room = str(e.value.at("room"));
          const auto seq = e.value.at("seq").to_number<std::uint64_t>();
          // Every message of the room, from the first on: no gap, no duplicate, no reordering.
          CHECK(seq == seen.last_seq[room] + 1);
          seen.last_seq[room] = seq;
          const std::string text = str(e.value.at("text"));
          if (text.starts_with("c")) CHECK(seen.texts[room].insert(text).second);
        } else if (e.kind() == EventType::left && e.value.at("nick") == "slow") {
          CHECK(leave_reason(e.value) == LeaveReason::slow_consumer);
          seen.slow_left_rooms.insert(str(e.value.at("room")));
        } else if (e.kind() == EventType::error) {
          FAIL("a chatter under the limits got an error: " << e.line);
        }
      }
      const Condition sent = [&] { return sending_done; };
      co_await wait_until(t.io, sent);
      ++chatters_done;
      co_await wait_until(t.io, all_chatters_done);
      me->close();
    });
  }

  // The flooder: 300 lines at once into room a. Each gets one reply.
  t.spawn([&]() -> asio::awaitable<void> {
    auto flooder = co_await connect_client(t.io, chatd, "flooder");
    const std::string room = "a";
    co_await join(*flooder, room);
    ++ready;
    co_await wait_until(t.io, everyone_ready);
    std::string burst;
    for (int k = 0; k < flood_lines; ++k)
      burst += R"({"type":"say","room":"a","text":"flood )" + std::to_string(k) + R"(","id":)" + std::to_string(k) + "}\n";
    co_await send_raw(*flooder, std::move(burst));
    while (flood_limited + flood_accepted < flood_lines) {
      Event e = co_await flooder->next(std::chrono::seconds(20));
      REQUIRE_FALSE(e.ec);
      if (!e.value.contains("id")) continue;
      if (e.kind() == EventType::error && e.error_code() == ErrorCode::rate_limited) ++flood_limited;
      else if (e.kind() == EventType::message) ++flood_accepted;
      else FAIL("unexpected reply to the flooder: " << e.line);
    }
    co_await wait_until(t.io, all_chatters_done);
    flooder->close();
  });

  // The bulk sender: 4 MB into its room at once, reading every echo, in order.
  t.spawn([&]() -> asio::awaitable<void> {
    auto bulk = co_await connect_client(t.io, chatd, "bulk");
    const std::string room = "bulk";
    co_await join(*bulk, room);
    ++ready;
    co_await wait_until(t.io, everyone_ready);
    std::string lines;
    for (int k = 0; k < bulk_messages; ++k) {
      std::string text = "bulk-" + std::to_string(k) + "-";
      text.resize(4000, 'y');
      lines += R"({"type":"say","room":"bulk","text":")" + text + "\"}\n";
    }
    co_await send_raw(*bulk, std::move(lines));
    std::uint64_t last_seq = 0;
    while (bulk_received < bulk_messages) {
      Event e = co_await bulk->next(std::chrono::seconds(20));
      INFO(e.line.substr(0, 200));
      REQUIRE_FALSE(e.ec);
      if (e.kind() != EventType::message) continue;
      const auto seq = e.value.at("seq").to_number<std::uint64_t>();
      CHECK(seq == last_seq + 1);
      last_seq = seq;
      ++bulk_received;
    }
    co_await wait_until(t.io, all_chatters_done);
    bulk->close();
  });

  // The slow reader: in every room, never reads, with a small receive buffer.
  t.spawn([&]() -> asio::awaitable<void> {
    auto slow = std::make_unique<Client>(t.io.get_executor());
    slow->set_receive_buffer(4096);
    REQUIRE_FALSE(co_await slow->connect(chatd.host(), chatd.port()));
    Event welcome = co_await slow->hello("slow", patience);
    REQUIRE(welcome.kind() == EventType::welcome);
    for (const std::string room : {"a", "b", "bulk"}) co_await join(*slow, room);
    ++ready;
    co_await wait_until(t.io, all_chatters_done);
    slow->close();
  });

  // Garbage: random bytes with a newline now and then, from an unregistered client.
  t.spawn([&]() -> asio::awaitable<void> {
    co_await wait_until(t.io, everyone_ready);
    auto garbage = co_await connect_client(t.io, chatd);
    std::mt19937 random(20261126);
    std::string bytes(64 * 1024, '\0');
    for (auto& b : bytes) b = static_cast<char>(random() % 100 == 0 ? '\n' : random() % 256);
    for (std::size_t at = 0; at < bytes.size(); at += 1000) co_await send_raw(*garbage, bytes.substr(at, 1000));
    garbage->finish_sending();
    for (;;) {
      Event e = co_await garbage->next(std::chrono::seconds(20));
      if (e.ec) {
        garbage_closed = e.ec != asio::error::timed_out;
        break;
      }
      INFO(e.line);
      CHECK(e.kind() == EventType::error);
      ++garbage_errors;
    }
  });

  // Vanishers: connect, maybe register and join, start a line, reset.
  t.spawn([&]() -> asio::awaitable<void> {
    co_await wait_until(t.io, everyone_ready);
    for (int v = 0; v < vanishers; ++v) {
      const std::string nick = v % 2 ? "v" + std::to_string(v) : "";
      auto ghost = co_await connect_client(t.io, chatd, nick);
      if (v % 2) co_await send(*ghost, request::join("a"));
      co_await send_raw(*ghost, R"({"type":"say","room":"a","text":"cut mid)");
      ghost->socket().set_option(asio::socket_base::linger(true, 0));
      ghost->close();  // RST, with a half line in flight
      co_await pause(t.io, 20ms);
    }
  });

  t.run(std::chrono::seconds(120));

  for (int i = 0; i < chatters; ++i) {
    INFO("chatter " << i);
    for (const auto& room : rooms_of_chatter(i))
      CHECK(observed[i].texts[room].size() == static_cast<std::size_t>(chatters_in(room) * per_room));
  }
  // The flooder was limited: about its burst went through, the rest was refused.
  CHECK(flood_limited > 0);
  CHECK(flood_accepted < flood_lines / 2);
  // The slow reader was disconnected, and its rooms were told why.
  CHECK(observed[0].slow_left_rooms.size() == 2);
  CHECK(bulk_received == bulk_messages);
  // The garbage got errors and a clean close.
  CHECK(garbage_errors > 0);
  CHECK(garbage_closed);

  // Once everyone has gone, chatd's heap is back to about where it started.
  std::map<std::string, std::size_t> stats;
  for (int i = 0; i < 500; ++i) {
    stats = chatd.stats();
    if (stats.at("connections") == 0) break;
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(stats.at("connections") == 0);
  const auto heap_after = stats.at("heap_bytes");
  INFO("heap before " << heap_before << ", after " << heap_after);
#ifdef COROCHAT_SANITIZE
  WARN("heap growth is not meaningful under a sanitizer's allocator");
#else
  CHECK(heap_after <= heap_before + 1024 * 1024);
#endif
}
