#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "corochat/use_tuple.hpp"
#include "server/store/memory_history_store.hpp"
#include "server/store/sqlite_history_store.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace corochat::server::store;

namespace {

// A fresh directory under the system's temporary one, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "corochat-store-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A clock the test moves by hand.
struct ManualClock {
  std::shared_ptr<std::atomic<Timestamp>> now = std::make_shared<std::atomic<Timestamp>>(1'700'000'000'000);
  std::function<Timestamp()> function() const {
    return [now = now] { return now->load(); };
  }
};
constexpr Timestamp day_ms = 24LL * 60 * 60 * 1000;

std::string line_text(const std::string& room, Seq seq, std::size_t pad = 0) {
  return R"({"type":"message","room":")" + room + R"(","from":"alice","text":")" + std::string(pad, 'x') +
         std::to_string(seq) + R"(","ts":1,"seq":)" + std::to_string(seq) + "}\n";
}

StoredMessage message(const std::string& room, Seq seq, Timestamp ts = 1000, std::size_t pad = 0) {
  return StoredMessage{room, seq, ts, std::make_shared<const std::string>(line_text(room, seq, pad))};
}

std::vector<Seq> seqs(const HistoryPage& page) {
  std::vector<Seq> out;
  for (const auto& m : page.messages) out.push_back(m.seq);
  return out;
}

std::vector<Seq> range(Seq first, Seq last) {
  std::vector<Seq> out;
  for (Seq s = first; s <= last; ++s) out.push_back(s);
  return out;
}

// Runs the io_context until `done` holds a value, within a bounded time.
template <typename T>
void drive(asio::io_context& io, const std::optional<T>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  io.restart();
  while (!done && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(100));
  REQUIRE(done.has_value());
}

// Plain calls over the asynchronous interface: each waits for its completion
// on `io`, the caller's executor.
struct Client {
  HistoryStore& store;
  asio::io_context& io;

  AppendResult append(std::vector<StoredMessage> batch) {
    std::optional<AppendResult> done;
    store.async_append(std::move(batch), asio::bind_executor(io, [&](AppendResult r) { done = std::move(r); }));
    drive(io, done);
    return *done;
  }
  HistoryPage read(HistoryQuery query, std::error_code expected = {}) {
    std::optional<std::pair<std::error_code, HistoryPage>> done;
    store.async_read(std::move(query),
                     asio::bind_executor(io, [&](std::error_code e, HistoryPage p) { done.emplace(e, std::move(p)); }));
    drive(io, done);
    CHECK(done->first == expected);
    return std::move(done->second);
  }
  HistoryPage latest(const std::string& room, std::size_t limit = 50) { return read(HistoryQuery{room, {}, {}, limit}); }
  std::error_code save_token(const std::string& nick, const std::string& token, Timestamp expires) {
    std::optional<std::error_code> done;
    store.async_save_token(nick, token, expires, asio::bind_executor(io, [&](std::error_code e) { done = e; }));
    drive(io, done);
    return *done;
  }
  std::optional<ResumeRecord> find_token(const std::string& token) {
    std::optional<std::pair<std::error_code, std::optional<ResumeRecord>>> done;
    store.async_find_token(token, asio::bind_executor(io, [&](std::error_code e, std::optional<ResumeRecord> r) {
                             done.emplace(e, std::move(r));
                           }));
    drive(io, done);
    CHECK_FALSE(done->first);
    return done->second;
  }
  std::error_code remove_token(const std::string& token) {
    std::optional<std::error_code> done;
    store.async_remove_token(token, asio::bind_executor(io, [&](std::error_code e) { done = e; }));
    drive(io, done);
    return *done;
  }
  RetentionReport enforce_retention() {
    std::optional<std::pair<std::error_code, RetentionReport>> done;
    store.async_enforce_retention(
        asio::bind_executor(io, [&](std::error_code e, RetentionReport r) { done.emplace(e, r); }));
    drive(io, done);
    CHECK_FALSE(done->first);
    return done->second;
  }
  std::error_code backup(const std::string& target) {
    std::optional<std::error_code> done;
    store.async_backup(target, asio::bind_executor(io, [&](std::error_code e) { done = e; }));
    drive(io, done);
    return *done;
  }
};

// The two stores, opened the same way for the shared tests.
struct MemoryKind {
  TempDir dir;  // unused by this store
  std::unique_ptr<HistoryStore> open(RetentionPolicy retention = {}, std::function<Timestamp()> clock = {}) {
    return std::make_unique<MemoryHistoryStore>(MemoryStoreOptions{retention, std::move(clock)});
  }
};
struct SqliteKind {
  TempDir dir;
  std::unique_ptr<HistoryStore> open(RetentionPolicy retention = {}, std::function<Timestamp()> clock = {}) {
    SqliteStoreOptions options;
    options.data_dir = dir.path() / "data";
    options.retention = retention;
    options.clock = std::move(clock);
    return std::make_unique<SqliteHistoryStore>(std::move(options));
  }
};

SqliteStoreOptions sqlite_options(const fs::path& dir) {
  SqliteStoreOptions options;
  options.data_dir = dir;
  return options;
}

// Runs one SQL statement on the store's file directly, as an outside tool would.
void raw_sql(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  INFO(message);
  REQUIRE(rc == SQLITE_OK);
}

std::string file_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string open_error(const SqliteStoreOptions& options) {
  try {
    SqliteHistoryStore store(options);
  } catch (const StoreError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ---------------------------------------------------------------- both stores

TEMPLATE_TEST_CASE("history store keeps appended lines and reads them back", "[store]", MemoryKind, SqliteKind) {
  TestType kind;
  asio::io_context io;
  auto store = kind.open();
  Client c{*store, io};

  auto first = message("lobby", 1, 111);
  auto result = c.append({first, message("lobby", 2, 222), message("rust", 1, 333)});
  REQUIRE(result.all_committed());
  CHECK(result.status.size() == 3);
  CHECK_FALSE(result.error);

  auto page = c.latest("lobby");
  REQUIRE(seqs(page) == std::vector<Seq>{1, 2});
  CHECK(*page.messages[0].line == *first.line);  // exactly as sent, '\n' included
  CHECK(page.messages[0].ts == 111);
  CHECK(page.messages[1].ts == 222);
  CHECK_FALSE(page.more);
  CHECK(seqs(c.latest("rust")) == std::vector<Seq>{1});
}

TEMPLATE_TEST_CASE("history store pages at every boundary", "[store]", MemoryKind, SqliteKind) {
  TestType kind;
  asio::io_context io;
  auto store = kind.open();
  Client c{*store, io};
  std::vector<StoredMessage> batch;
  for (Seq s = 1; s <= 10; ++s) batch.push_back(message("lobby", s));
  REQUIRE(c.append(batch).all_committed());

  auto check = [&](std::optional<Seq> before, std::optional<Seq> after, std::size_t limit, std::vector<Seq> expected,
                   bool more) {
    INFO("before " << before.value_or(0) << " after " << after.value_or(0) << " limit " << limit);
    auto page = c.read(HistoryQuery{"lobby", before, after, limit});
    CHECK(seqs(page) == expected);
    CHECK(page.more == more);
  };
  check({}, {}, 3, {8, 9, 10}, true);     // latest
  check({}, {}, 10, range(1, 10), false); // exactly all
  check({}, {}, 11, range(1, 10), false);
  check(5, {}, 2, {3, 4}, true);          // paging back
  check(3, {}, 5, {1, 2}, false);
  check(2, {}, 5, {1}, false);
  check(1, {}, 5, {}, false);             // nothing below the first
  check(11, {}, 2, {9, 10}, true);        // a bound past the last seq
  check({}, 7, 5, {8, 9, 10}, false);     // paging forward
  check({}, 2, 3, {3, 4, 5}, true);
  check({}, 0, 2, {1, 2}, true);
  check({}, 9, 5, {10}, false);
  check({}, 10, 5, {}, false);            // caught up
  check(6, 3, 10, {4, 5}, false);         // both bounds
  check(6, 3, 1, {4}, true);              // both, forward from after
  check(4, 3, 10, {}, false);             // nothing strictly between
  check(3, 5, 10, {}, false);             // crossed bounds
  check({}, {}, 0, {}, true);             // limit 0: only whether there is more

  auto empty = c.read(HistoryQuery{"nobody-here", {}, {}, 10});
  CHECK(empty.messages.empty());
  CHECK_FALSE(empty.more);

  // A byte budget cuts the far end of the page: three lines fit, not four.
  const std::size_t line_size = message("lobby", 10).line->size();
  auto cut = c.read(HistoryQuery{"lobby", {}, {}, 50, 3 * line_size + 2});
  CHECK(seqs(cut) == std::vector<Seq>{8, 9, 10});
  CHECK(cut.more);
  auto cut_forward = c.read(HistoryQuery{"lobby", {}, 4, 50, 2 * line_size});
  CHECK(seqs(cut_forward) == std::vector<Seq>{5, 6});
}

TEMPLATE_TEST_CASE("history store pages across seq gaps", "[store]", MemoryKind, SqliteKind) {
  TestType kind;
  asio::io_context io;
  auto store = kind.open(RetentionPolicy{8, 0});
  Client c{*store, io};
  // Gaps from messages that were never stored (a failed append) ...
  REQUIRE(c.append({message("lobby", 2), message("lobby", 5), message("lobby", 9)}).all_committed());
  CHECK(seqs(c.read(HistoryQuery{"lobby", 9, {}, 1})) == std::vector<Seq>{5});
  CHECK(seqs(c.read(HistoryQuery{"lobby", {}, 2, 1})) == std::vector<Seq>{5});
  CHECK(seqs(c.read(HistoryQuery{"lobby", 5, 2, 9})).empty());
  // ... and from retention: keeping 8 by seq keeps 6..13, so 2 and 5 go.
  REQUIRE(c.append({message("lobby", 10), message("lobby", 11), message("lobby", 12), message("lobby", 13)})
              .all_committed());
  CHECK(seqs(c.latest("lobby")) == std::vector<Seq>{9, 10, 11, 12, 13});
  auto below = c.read(HistoryQuery{"lobby", 9, {}, 5});
  CHECK(below.messages.empty());
  CHECK_FALSE(below.more);
  CHECK(seqs(c.read(HistoryQuery{"lobby", {}, 3, 2})) == std::vector<Seq>{9, 10});
}

TEMPLATE_TEST_CASE("history store refuses a seq that does not ascend and keeps the rest", "[store]", MemoryKind,
                   SqliteKind) {
  TestType kind;
  asio::io_context io;
  auto store = kind.open();
  Client c{*store, io};
  REQUIRE(c.append({message("lobby", 1), message("lobby", 2)}).all_committed());
  auto result = c.append({message("lobby", 2), message("lobby", 3), message("lobby", 3), message("rust", 1)});
  CHECK(result.status == std::vector<MessageStatus>{MessageStatus::failed, MessageStatus::committed,
                                                    MessageStatus::failed, MessageStatus::committed});
  CHECK(result.error == store_errc::seq_not_ascending);
  CHECK(seqs(c.latest("lobby")) == std::vector<Seq>{1, 2, 3});
  CHECK(*c.latest("lobby").messages.back().line == line_text("lobby", 3));
}

TEMPLATE_TEST_CASE("history store completes on the caller's executor and never inside the call", "[store]",
                   MemoryKind, SqliteKind) {
  TestType kind;
  asio::io_context io;
  auto store = kind.open();
  std::optional<std::thread::id> ran_on;
  bool returned = false;
  bool completed_before_return = false;
  store->async_append({message("lobby", 1)}, asio::bind_executor(io, [&](AppendResult) {
                        completed_before_return = !returned;
                        ran_on = std::this_thread::get_id();
                      }));
  returned = true;
  drive(io, ran_on);
  CHECK(*ran_on == std::this_thread::get_id());
  CHECK_FALSE(completed_before_return);
}

TEMPLATE_TEST_CASE("history store serves a coroutine through corochat::use_tuple", "[store]", MemoryKind,
                   SqliteKind) {
  TestType kind;
  asio::io_context io;
  auto store = kind.open();
  std::optional<std::vector<Seq>> got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::vector<StoredMessage> batch{message("lobby", 1), message("lobby", 2)};
        auto appended = co_await store->async_append(std::move(batch), corochat::use_tuple);
        if (!std::get<0>(appended).all_committed()) co_return;
        HistoryQuery query{"lobby", {}, {}, 10};
        auto read = co_await store->async_read(std::move(query), corochat::use_tuple);
        if (std::get<0>(read)) co_return;
        got = seqs(std::get<1>(read));
      },
      asio::detached);
  drive(io, got);
  CHECK(*got == std::vector<Seq>{1, 2});
}

TEMPLATE_TEST_CASE("history store finds resume tokens until they expire", "[store]", MemoryKind, SqliteKind) {
  TestType kind;
  asio::io_context io;
  ManualClock clock;
  auto store = kind.open({}, clock.function());
  Client c{*store, io};
  const Timestamp expires = *clock.now + 60'000;
  REQUIRE_FALSE(c.save_token("alice", "token-of-alice", expires));
  REQUIRE_FALSE(c.save_token("bob", "token-of-bob", expires + 1));

  auto found = c.find_token("token-of-alice");
  REQUIRE(found);
  CHECK(found->nick == "alice");
  CHECK(found->expires == expires);
  CHECK_FALSE(c.find_token("token-of-carol"));

  REQUIRE_FALSE(c.remove_token("token-of-alice"));
  CHECK_FALSE(c.find_token("token-of-alice"));

  *clock.now = expires;  // bob's is still good for a millisecond
  CHECK(c.find_token("token-of-bob"));
  *clock.now = expires + 1;
  CHECK_FALSE(c.find_token("token-of-bob"));
  CHECK(c.enforce_retention().deleted == 1);  // the expired token is purged
}

TEMPLATE_TEST_CASE("history store keeps retain_messages per room", "[store]", MemoryKind, SqliteKind) {
  TestType kind;
  asio::io_context io;
  auto store = kind.open(RetentionPolicy{5, 0});
  Client c{*store, io};
  for (Seq s = 1; s <= 20; s += 4)
    REQUIRE(c.append({message("lobby", s), message("lobby", s + 1), message("lobby", s + 2), message("lobby", s + 3),
                      message("rust", s)})
                .all_committed());
  CHECK(seqs(c.latest("lobby", 100)) == range(16, 20));
  // Counted by seq: a room's last 5 seqs are 13..17, of which it has two.
  CHECK(seqs(c.latest("rust", 100)) == std::vector<Seq>{13, 17});
}

TEMPLATE_TEST_CASE("history store drops messages older than retain_days", "[store]", MemoryKind, SqliteKind) {
  TestType kind;
  asio::io_context io;
  ManualClock clock;
  auto store = kind.open(RetentionPolicy{0, 2}, clock.function());
  Client c{*store, io};
  const Timestamp start = *clock.now;
  REQUIRE(c.append({message("lobby", 1, start), message("lobby", 2, start + day_ms), message("rust", 1, start)})
              .all_committed());
  *clock.now = start + 2 * day_ms + 1;
  auto report = c.enforce_retention();
  CHECK(report.deleted == 2);
  CHECK(seqs(c.latest("lobby")) == std::vector<Seq>{2});
  CHECK(c.latest("rust").messages.empty());
  // An emptied room still numbers on.
  REQUIRE(c.append({message("rust", 2, *clock.now)}).all_committed());
  CHECK_FALSE(c.append({message("rust", 1, *clock.now)}).all_committed());
}

TEMPLATE_TEST_CASE("history store exports a room oldest first", "[store]", MemoryKind, SqliteKind) {
  TestType kind;
  asio::io_context io;
  auto store = kind.open();
  Client c{*store, io};
  REQUIRE(c.append({message("lobby", 1), message("rust", 1), message("lobby", 2), message("lobby", 3)})
              .all_committed());
  std::vector<std::string> lines;
  REQUIRE_FALSE(store->export_room("lobby", [&](const HistoryEntry& e) { lines.push_back(*e.line); }));
  CHECK(lines == std::vector<std::string>{line_text("lobby", 1), line_text("lobby", 2), line_text("lobby", 3)});
}

TEMPLATE_TEST_CASE("history store answers closed after close", "[store]", MemoryKind, SqliteKind) {
  TestType kind;
  asio::io_context io;
  auto store = kind.open();
  Client c{*store, io};
  store->close();
  auto result = c.append({message("lobby", 1)});
  CHECK(result.status == std::vector<MessageStatus>{MessageStatus::failed});
  CHECK(result.error == store_errc::closed);
  c.read(HistoryQuery{"lobby"}, store_errc::closed);
}

// ---------------------------------------------------------------- SQLite

TEST_CASE("sqlite store keeps history room seqs and epoch across a reopen", "[store][sqlite]") {
  TempDir dir;
  asio::io_context io;
  std::string epoch;
  {
    SqliteHistoryStore store(sqlite_options(dir.path()));
    epoch = store.epoch();
    CHECK(epoch.size() == 16);
    CHECK(store.room_seqs().empty());
    Client c{store, io};
    REQUIRE(c.append({message("lobby", 1), message("lobby", 2), message("rust", 7)}).all_committed());
  }
  SqliteHistoryStore store(sqlite_options(dir.path()));
  CHECK(store.epoch() == epoch);
  const auto& room_seqs = store.room_seqs();
  REQUIRE(room_seqs.size() == 2);
  CHECK(room_seqs[0].room == "lobby");
  CHECK(room_seqs[0].seq == 2);
  CHECK(room_seqs[1].room == "rust");
  CHECK(room_seqs[1].seq == 7);
  Client c{store, io};
  CHECK(*c.latest("lobby").messages[1].line == line_text("lobby", 2));
  CHECK_FALSE(c.append({message("rust", 7)}).all_committed());  // seqs continue where they were
  CHECK(c.append({message("rust", 8)}).all_committed());
}

TEST_CASE("sqlite store has a new epoch when new or lost", "[store][sqlite]") {
  TempDir a, b;
  std::string first;
  {
    SqliteHistoryStore store(sqlite_options(a.path()));
    first = store.epoch();
  }
  {
    SqliteHistoryStore other(sqlite_options(b.path()));
    CHECK(other.epoch() != first);
  }
  fs::remove(a.path() / SqliteHistoryStore::file_name);
  fs::remove(a.path() / (std::string(SqliteHistoryStore::file_name) + "-wal"));
  fs::remove(a.path() / (std::string(SqliteHistoryStore::file_name) + "-shm"));
  SqliteHistoryStore again(sqlite_options(a.path()));
  CHECK(again.epoch() != first);
}

TEST_CASE("sqlite store keeps a room's last seq when retention empties it", "[store][sqlite]") {
  TempDir dir;
  asio::io_context io;
  ManualClock clock;
  auto options = sqlite_options(dir.path());
  options.retention = RetentionPolicy{0, 1};
  options.clock = clock.function();
  {
    SqliteHistoryStore store(options);
    Client c{store, io};
    REQUIRE(c.append({message("lobby", 1, *clock.now), message("lobby", 2, *clock.now)}).all_committed());
    *clock.now += 2 * day_ms;
    CHECK(c.enforce_retention().deleted == 2);
  }
  SqliteHistoryStore store(options);
  REQUIRE(store.room_seqs().size() == 1);
  CHECK(store.room_seqs()[0].seq == 2);
}

TEST_CASE("sqlite store enforces retention in bounded steps", "[store][sqlite]") {
  TempDir dir;
  asio::io_context io;
  ManualClock clock;
  auto options = sqlite_options(dir.path());
  options.retention = RetentionPolicy{0, 0};
  options.retention_step = 7;
  options.retention_interval = std::chrono::hours(1);  // no sweep but the one asked for
  options.clock = clock.function();
  {
    SqliteHistoryStore store(options);
    Client c{store, io};
    std::vector<StoredMessage> batch;
    for (Seq s = 1; s <= 100; ++s) batch.push_back(message("lobby", s, *clock.now));
    for (Seq s = 1; s <= 30; ++s) batch.push_back(message("rust", s, *clock.now + day_ms));
    REQUIRE(c.append(batch).all_committed());
  }
  SECTION("by count") {
    options.retention = RetentionPolicy{10, 0};
    SqliteHistoryStore store(options);
    Client c{store, io};
    auto report = c.enforce_retention();
    CHECK(seqs(c.latest("lobby", 200)) == range(91, 100));
    CHECK(seqs(c.latest("rust", 200)) == range(21, 30));
    CHECK(report.deleted == 90 + 20);
    CHECK(report.steps >= (90 + 20 + 6) / 7);  // never more than 7 rows a transaction
    CHECK(c.enforce_retention().deleted == 0);
  }
  SECTION("by age") {
    options.retention = RetentionPolicy{0, 1};
    *clock.now += day_ms + 1;  // lobby's messages are a day old, rust's are not
    SqliteHistoryStore store(options);
    Client c{store, io};
    auto report = c.enforce_retention();
    CHECK(report.deleted == 100);
    CHECK(report.steps >= (100 + 6) / 7);
    CHECK(c.latest("lobby").messages.empty());
    CHECK(seqs(c.latest("rust", 200)) == range(1, 30));
  }
}

TEST_CASE("sqlite store keeps resume tokens hashed", "[store][sqlite]") {
  TempDir dir;
  asio::io_context io;
  const std::string token = "plain-token-4f1c2a";
  {
    SqliteHistoryStore store(sqlite_options(dir.path()));
    Client c{store, io};
    REQUIRE_FALSE(c.save_token("alice", token, system_now() + 60'000));
  }
  const auto file = dir.path() / SqliteHistoryStore::file_name;
  CHECK(file_bytes(file).find(token) == std::string::npos);
  CHECK(file_bytes(file).find(token_hash(token)) != std::string::npos);
  CHECK(token_hash(token).size() == 32);
  SqliteHistoryStore store(sqlite_options(dir.path()));
  Client c{store, io};
  auto found = c.find_token(token);  // survives the restart
  REQUIRE(found);
  CHECK(found->nick == "alice");
}

TEST_CASE("sqlite store lists the live tokens it found when opened", "[store][sqlite]") {
  TempDir dir;
  asio::io_context io;
  {
    SqliteHistoryStore store(sqlite_options(dir.path()));
    CHECK(store.tokens_at_open().empty());
    Client c{store, io};
    REQUIRE_FALSE(c.save_token("alice", "token-a", system_now() + 60'000));
    REQUIRE_FALSE(c.save_token("bob", "token-b", system_now() + 60'000));
    REQUIRE_FALSE(c.save_token("gone", "token-g", system_now() - 1));  // expired
    REQUIRE_FALSE(c.remove_token("token-b"));
  }
  SqliteHistoryStore store(sqlite_options(dir.path()));
  REQUIRE(store.tokens_at_open().size() == 1);
  CHECK(store.tokens_at_open()[0].nick == "alice");
  CHECK(store.tokens_at_open()[0].hash == token_hash("token-a"));
}

TEST_CASE("sqlite store creates its directory 0700 and files 0600", "[store][sqlite]") {
  TempDir dir;
  const auto data = dir.path() / "data";
  asio::io_context io;
  SqliteHistoryStore store(sqlite_options(data));
  Client c{store, io};
  REQUIRE(c.append({message("lobby", 1)}).all_committed());
  auto mode = [](const fs::path& p) {
    struct stat info {};
    REQUIRE(::stat(p.c_str(), &info) == 0);
    return info.st_mode & 0777;
  };
  CHECK(mode(data) == 0700);
  CHECK(mode(data / SqliteHistoryStore::file_name) == 0600);
  CHECK(mode(data / (std::string(SqliteHistoryStore::file_name) + "-wal")) == 0600);
}

TEST_CASE("sqlite store refuses a schema newer than its own naming the file", "[store][sqlite]") {
  TempDir dir;
  { SqliteHistoryStore store(sqlite_options(dir.path())); }
  const auto file = dir.path() / SqliteHistoryStore::file_name;
  raw_sql(file, "UPDATE schema_version SET version = " + std::to_string(SqliteHistoryStore::schema_version() + 1));
  const auto error = open_error(sqlite_options(dir.path()));
  CHECK_THAT(error, Catch::Contains(file.string()) && Catch::Contains("newer"));
}

TEST_CASE("sqlite store refuses a corrupt file naming it", "[store][sqlite]") {
  TempDir dir;
  const auto file = dir.path() / SqliteHistoryStore::file_name;
  SECTION("not SQLite at all") {
    std::ofstream(file) << std::string(8192, 'z');
  }
  SECTION("SQLite but not a history store") {
    raw_sql(file, "CREATE TABLE something(x)");
  }
  SECTION("a history store with its pages overwritten") {
    { SqliteHistoryStore store(sqlite_options(dir.path())); }
    std::string bytes = file_bytes(file);
    REQUIRE(bytes.size() > 4096);
    std::fill(bytes.begin() + 16, bytes.end(), '\x5a');
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  }
  const auto error = open_error(sqlite_options(dir.path()));
  CHECK_THAT(error, Catch::Contains(file.string()));
  CHECK_THAT(error, Catch::Contains("damaged") || Catch::Contains("not a database"));
}

TEST_CASE("sqlite store refuses a data directory it cannot write naming it", "[store][sqlite]") {
  TempDir dir;
  const auto plain_file = dir.path() / "a-file";
  std::ofstream(plain_file) << "x";
  CHECK_THAT(open_error(sqlite_options(plain_file)), Catch::Contains(plain_file.string()));
  const auto beneath_file = plain_file / "data";
  CHECK_THAT(open_error(sqlite_options(beneath_file)), Catch::Contains(beneath_file.string()));
  if (::geteuid() != 0) {  // root writes anywhere: permissions cannot refuse it
    const auto locked = dir.path() / "locked";
    fs::create_directory(locked);
    fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
    CHECK_THAT(open_error(sqlite_options(locked)), Catch::Contains(locked.string()));
  }
}

TEST_CASE("sqlite store reports appends failed on a full disk and recovers", "[store][sqlite]") {
  TempDir dir;
  asio::io_context io;
  SqliteHistoryStore store(sqlite_options(dir.path()));
  Client c{store, io};
  REQUIRE(c.append({message("lobby", 1)}).all_committed());
  store.set_max_page_count(1);  // the file's current size: nothing more fits

  std::vector<StoredMessage> big;
  for (Seq s = 2; s <= 41; ++s) big.push_back(message("lobby", s, 1000, 3000));
  auto full = c.append(big);
  CHECK(full.error == store_errc::full);
  std::size_t failed = 0;
  for (auto status : full.status) failed += status == MessageStatus::failed;
  CHECK(failed > 0);
  // What was reported committed is there, and only that.
  std::vector<Seq> committed{1};
  for (std::size_t i = 0; i < big.size(); ++i)
    if (full.status[i] == MessageStatus::committed) committed.push_back(big[i].seq);
  CHECK(seqs(c.latest("lobby", 100)) == committed);

  store.set_max_page_count(0);  // space returns
  auto after = c.append({message("lobby", 42, 1000, 3000), message("rust", 1)});
  CHECK(after.all_committed());
  CHECK(seqs(c.latest("lobby", 1)) == std::vector<Seq>{42});
}

TEST_CASE("sqlite store commits appends handed over together in order", "[store][sqlite]") {
  TempDir dir;
  asio::io_context io;
  SqliteHistoryStore store(sqlite_options(dir.path()));
  std::size_t completed = 0;
  std::size_t committed = 0;
  for (Seq s = 1; s <= 200; ++s)
    store.async_append({message("lobby", s), message("room" + std::to_string(s % 7), s)},
                       asio::bind_executor(io, [&](AppendResult r) {
                         ++completed;
                         committed += r.all_committed();
                       }));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (completed < 200 && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(100));
  CHECK(completed == 200);
  CHECK(committed == 200);
  Client c{store, io};
  CHECK(seqs(c.latest("lobby", 500)) == range(1, 200));
}

TEST_CASE("sqlite store backs up a consistent copy while open", "[store][sqlite]") {
  TempDir dir;
  asio::io_context io;
  SqliteHistoryStore store(sqlite_options(dir.path() / "live"));
  Client c{store, io};
  REQUIRE(c.append({message("lobby", 1), message("lobby", 2)}).all_committed());
  fs::create_directory(dir.path() / "copy", dir.path());
  fs::permissions(dir.path() / "copy", fs::perms::owner_all);
  const auto target = dir.path() / "copy" / SqliteHistoryStore::file_name;
  REQUIRE_FALSE(c.backup(target.string()));
  CHECK(c.backup(target.string()));  // never overwrites
  REQUIRE(c.append({message("lobby", 3)}).all_committed());

  SqliteHistoryStore copy(sqlite_options(dir.path() / "copy"));
  CHECK(copy.epoch() == store.epoch());  // the same history, restored
  Client restored{copy, io};
  CHECK(seqs(restored.latest("lobby")) == std::vector<Seq>{1, 2});
}

namespace {
// Rows the file holds for a room, read as an outside tool would.
std::int64_t stored_rows(const fs::path& file, const std::string& room) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM messages WHERE room_id = (SELECT id FROM rooms WHERE name = ?1)",
                             -1, &stmt, nullptr) == SQLITE_OK);
  sqlite3_bind_text(stmt, 1, room.c_str(), -1, SQLITE_TRANSIENT);
  const std::int64_t rows = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}
}  // namespace

TEST_CASE("sqlite store deletes rows past retain_messages in steps and reads never show them", "[store]") {
  TempDir dir;
  auto options = sqlite_options(dir.path());
  options.retention = RetentionPolicy{10, 0};
  options.retention_step = 5;
  const auto file = dir.path() / SqliteHistoryStore::file_name;
  asio::io_context io;
  Seq seq = 0;
  {
    SqliteHistoryStore store(options);
    Client c{store, io};
    for (int i = 0; i < 40; ++i) {
      REQUIRE(c.append({message("lobby", ++seq)}).all_committed());
      // Past retention are at most a step's worth less one, never read.
      const auto rows = stored_rows(file, "lobby");
      CHECK(rows >= std::min<std::int64_t>(static_cast<std::int64_t>(seq), 10));
      CHECK(rows <= 10 + 4);
      CHECK(seqs(c.latest("lobby", 100)) == range(seq > 10 ? seq - 9 : 1, seq));
    }
  }
  // Reopened, the store trims on from the oldest row it finds.
  SqliteHistoryStore store(options);
  Client c{store, io};
  for (int i = 0; i < 12; ++i) REQUIRE(c.append({message("lobby", ++seq)}).all_committed());
  CHECK(stored_rows(file, "lobby") <= 10 + 4);
  CHECK(seqs(c.latest("lobby", 100)) == range(seq - 9, seq));
  std::vector<Seq> exported;
  REQUIRE_FALSE(store.export_room("lobby", [&](const HistoryEntry& e) { exported.push_back(e.seq); }));
  CHECK(exported == range(seq - 9, seq));
}
