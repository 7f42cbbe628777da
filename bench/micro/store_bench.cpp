// History store benchmarks: appends (batches of 1, 64 and 512 messages into
// 100 rooms, synchronous=NORMAL and FULL, and appends kept in flight as the
// broadcaster hands them over), reads (latest 50, before, after) on a store of
// 1 000 000 messages in 1 000 rooms, and the time to open that store.
//
// Run: build/release/bin/chat-store-bench [--benchmark_filter=...]
// The 1M-message fixture is built once into $COROCHAT_STORE_FIXTURE (default
// /tmp/corochat-store-fixture) and reused by later runs.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <benchmark/benchmark.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "server/store/sqlite_history_store.hpp"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace corochat::server::store;

constexpr std::size_t fixture_rooms = 1000;
constexpr std::size_t fixture_per_room = 1000;

std::string room_name(std::size_t i) { return "room" + std::to_string(i); }

// A `message` event line of about the size bench/run.sh sends (100 bytes of text).
SharedLine make_line(const std::string& room, Seq seq) {
  return std::make_shared<const std::string>(R"({"type":"message","room":")" + room +
                                             R"(","from":"alice","text":")" + std::string(100, 'x') +
                                             R"(","ts":1764093600105,"seq":)" + std::to_string(seq) + "}\n");
}

// CPU time of the whole process (the store's threads included), in µs: on a
// shared machine, CPU per message says more than wall time.
double process_cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

template <typename T>
void drive(asio::io_context& io, const std::optional<T>& done) {
  io.restart();
  while (!done) io.run_one();
}

struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "corochat-store-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    path = pattern;
  }
  ~ScratchDir() { fs::remove_all(path); }
};

// Appends of `batch` messages spread over 100 rooms, each waited for.
void BM_Append(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  const bool full = state.range(1) != 0;
  ScratchDir dir;
  SqliteStoreOptions options;
  options.data_dir = dir.path;
  options.sync = full ? Sync::full : Sync::normal;
  SqliteHistoryStore store(options);
  asio::io_context io;
  std::vector<Seq> seqs(100, 0);
  std::vector<SharedLine> lines;
  for (std::size_t r = 0; r < 100; ++r) lines.push_back(make_line(room_name(r), 1));
  std::size_t next_room = 0;
  const double cpu_start = process_cpu_us();
  for (auto _ : state) {
    std::vector<StoredMessage> batch;
    batch.reserve(batch_size);
    for (std::size_t i = 0; i < batch_size; ++i) {
      const std::size_t r = next_room++ % 100;
      batch.push_back(StoredMessage{room_name(r), ++seqs[r], 1764093600105, lines[r]});
    }
    std::optional<AppendResult> done;
    store.async_append(std::move(batch), asio::bind_executor(io, [&](AppendResult r) { done = std::move(r); }));
    drive(io, done);
    if (!done->all_committed()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_size));
  state.counters["cpu_us_per_msg"] = (process_cpu_us() - cpu_start) / static_cast<double>(state.iterations() * batch_size);
}
BENCHMARK(BM_Append)
    ->ArgNames({"batch", "full"})
    ->ArgsProduct({{1, 64, 512}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Sustained appends: the caller keeps `in_flight` appends of 64 messages
// handed over, as a busy broadcaster would; the writer commits whatever has
// gathered in one transaction (group commit).
void BM_AppendSustained(benchmark::State& state) {
  const bool full = state.range(0) != 0;
  constexpr std::size_t per_call = 64;
  constexpr std::size_t in_flight = 8;
  ScratchDir dir;
  SqliteStoreOptions options;
  options.data_dir = dir.path;
  options.sync = full ? Sync::full : Sync::normal;
  SqliteHistoryStore store(options);
  asio::io_context io;
  std::vector<Seq> seqs(100, 0);
  std::vector<SharedLine> lines;
  for (std::size_t r = 0; r < 100; ++r) lines.push_back(make_line(room_name(r), 1));
  std::size_t next_room = 0;
  std::size_t outstanding = 0;
  bool failed = false;
  auto hand_over = [&] {
    std::vector<StoredMessage> batch;
    batch.reserve(per_call);
    for (std::size_t i = 0; i < per_call; ++i) {
      const std::size_t r = next_room++ % 100;
      batch.push_back(StoredMessage{room_name(r), ++seqs[r], 1764093600105, lines[r]});
    }
    ++outstanding;
    store.async_append(std::move(batch), asio::bind_executor(io, [&](AppendResult r) {
                         --outstanding;
                         failed |= !r.all_committed();
                       }));
  };
  const double cpu_start = process_cpu_us();
  for (auto _ : state) {
    while (outstanding < in_flight) hand_over();
    io.restart();
    io.run_one();  // one append completed: the loop hands over the next
  }
  while (outstanding > 0) {
    io.restart();
    io.run_one();
  }
  if (failed) state.SkipWithError("append failed");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * per_call));
  state.counters["cpu_us_per_msg"] = (process_cpu_us() - cpu_start) / static_cast<double>(state.iterations() * per_call);
}
BENCHMARK(BM_AppendSustained)->ArgName("full")->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMicrosecond);

fs::path fixture_dir() {
  const char* env = std::getenv("COROCHAT_STORE_FIXTURE");
  return env ? fs::path(env) : fs::path("/tmp/corochat-store-fixture");
}

SqliteStoreOptions fixture_options() {
  SqliteStoreOptions options;
  options.data_dir = fixture_dir();
  options.retention = RetentionPolicy{0, 0};
  return options;
}

// 1 000 000 messages in 1 000 rooms, built on first use.
void ensure_fixture() {
  static bool ready = false;
  if (ready) return;
  {
    SqliteHistoryStore store(fixture_options());
    if (store.room_seqs().size() != fixture_rooms) {
      if (!store.room_seqs().empty()) std::abort();  // a partial fixture: remove the directory
      asio::io_context io;
      for (Seq seq = 1; seq <= fixture_per_room; seq += 10) {
        std::vector<StoredMessage> batch;
        for (std::size_t r = 0; r < fixture_rooms; ++r)
          for (Seq s = seq; s < seq + 10; ++s)
            batch.push_back(StoredMessage{room_name(r), s, 1764093600105 + static_cast<Timestamp>(s), make_line(room_name(r), s)});
        std::optional<AppendResult> done;
        store.async_append(std::move(batch), asio::bind_executor(io, [&](AppendResult r) { done = std::move(r); }));
        drive(io, done);
        if (!done->all_committed()) std::abort();
      }
    }
  }
  ready = true;
}

// Reads of 50 messages from random rooms; `kind` 0: latest, 1: before a
// random seq, 2: after a random seq. Reports the p99 of one read, asked and
// completed back on the caller's executor.
void BM_Read(benchmark::State& state) {
  ensure_fixture();
  const int kind = static_cast<int>(state.range(0));
  SqliteHistoryStore store(fixture_options());
  asio::io_context io;
  std::mt19937_64 random(42);
  std::uniform_int_distribution<std::size_t> pick_room(0, fixture_rooms - 1);
  std::uniform_int_distribution<Seq> pick_seq(1, fixture_per_room);
  std::vector<double> micros;
  micros.reserve(1 << 20);
  std::size_t got = 0;
  for (auto _ : state) {
    HistoryQuery query{room_name(pick_room(random)), {}, {}, 50};
    if (kind == 1) query.before = pick_seq(random);
    if (kind == 2) query.after = pick_seq(random);
    const auto start = std::chrono::steady_clock::now();
    std::optional<HistoryPage> done;
    store.async_read(std::move(query),
                     asio::bind_executor(io, [&](std::error_code, HistoryPage page) { done = std::move(page); }));
    drive(io, done);
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    got += done->messages.size();
  }
  std::sort(micros.begin(), micros.end());
  if (!micros.empty()) {
    state.counters["p50_us"] = micros[micros.size() / 2];
    state.counters["p99_us"] = micros[micros.size() * 99 / 100];
  }
  state.counters["msgs_per_read"] = state.iterations() ? static_cast<double>(got) / state.iterations() : 0;
}
BENCHMARK(BM_Read)->ArgName("latest0_before1_after2")->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Opening the 1M-message store: what chatd does before it listens.
void BM_Open(benchmark::State& state) {
  ensure_fixture();
  for (auto _ : state) {
    SqliteHistoryStore store(fixture_options());
    benchmark::DoNotOptimize(store.room_seqs().size());
    state.PauseTiming();
    store.close();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Open)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(10);

}  // namespace

BENCHMARK_MAIN();
