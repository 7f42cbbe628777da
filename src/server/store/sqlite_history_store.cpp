#include "server/store/sqlite_history_store.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <variant>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/store/memory_history_store.hpp"
#include "server/store/sqlite.hpp"

namespace corochat::server::store {

namespace {

using sqlite::Connection;
using sqlite::ResetOnExit;
using sqlite::Statement;

constexpr Timestamp ms_per_day = 24LL * 60 * 60 * 1000;
constexpr int open_flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

// Forward migrations: migrations[i] takes the schema from version i to i + 1.
// A released entry never changes; a new schema is a new entry.
constexpr std::array migrations = {
    // 1: rooms with their last seq (kept when retention empties a room), the
    // message lines by (room, seq), resume tokens by hash, and the epoch.
    R"sql(
      CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE rooms(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, last_seq INTEGER NOT NULL);
      CREATE TABLE messages(room_id INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
                            line TEXT NOT NULL, PRIMARY KEY(room_id, seq)) WITHOUT ROWID;
      CREATE TABLE tokens(hash BLOB PRIMARY KEY, nick TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
    )sql",
};

std::int64_t to_db_seq(Seq seq) {
  return static_cast<std::int64_t>(std::min<Seq>(seq, std::numeric_limits<std::int64_t>::max()));
}

SharedLine line_from_db(std::string_view text) {
  std::string line;
  line.reserve(text.size() + 1);
  line.append(text);
  line.push_back('\n');
  return std::make_shared<const std::string>(std::move(line));
}

std::string_view line_to_db(const SharedLine& line) {
  if (!line) return {};
  std::string_view text = *line;
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  return text;
}

std::string errno_text() { return std::strerror(errno); }

// The directory exists (created 0700 if it did not) and is writable.
void prepare_directory(const std::filesystem::path& dir) {
  const std::string name = dir.string();
  if (name.empty()) throw StoreError("the history store needs a data directory");
  struct stat info {};
  if (::stat(name.c_str(), &info) == 0) {
    if (!S_ISDIR(info.st_mode)) throw StoreError(name + ": not a directory");
  } else {
    std::error_code error;
    if (dir.has_parent_path() && !std::filesystem::exists(dir.parent_path(), error))
      std::filesystem::create_directories(dir.parent_path(), error);
    if (::mkdir(name.c_str(), 0700) != 0 && errno != EEXIST)
      throw StoreError(name + ": cannot create the data directory: " + errno_text());
  }
  if (::access(name.c_str(), W_OK | X_OK) != 0) throw StoreError(name + ": data directory not writable: " + errno_text());
}

// Creates the file 0600 if it is missing; true when it is new (or empty).
bool prepare_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw StoreError(path + ": cannot open the history database: " + errno_text());
  struct stat info {};
  const bool empty = ::fstat(fd, &info) == 0 && info.st_size == 0;
  ::close(fd);
  return empty;
}

// What a read may return of a room: its messages above `last seq - kept`
// (?5). The writer deletes what is past retain_messages in steps, so rows
// past it can linger for a while; no read ever returns them.
constexpr const char* kept_rows =
    "FROM messages WHERE room_id = (SELECT id FROM rooms WHERE name = ?1) "
    "AND seq > max(?2, (SELECT last_seq FROM rooms WHERE name = ?1) - ?5) AND seq < ?3 ";

// retain_messages as ?5 of kept_rows; no limit keeps every seq.
std::int64_t kept_count(std::uint64_t retain_messages) {
  constexpr auto all = std::numeric_limits<std::int64_t>::max() / 2;
  return retain_messages == 0 ? all : static_cast<std::int64_t>(std::min<std::uint64_t>(retain_messages, all));
}

// The statements a reader thread runs, prepared once per connection.
struct ReaderConnection {
  ReaderConnection(const std::string& path, std::uint64_t retain_messages)
      : db(path, open_flags),
        newest(db.prepare(std::string("SELECT seq, ts, line ") + kept_rows + "ORDER BY seq DESC LIMIT ?4")),
        oldest(db.prepare(std::string("SELECT seq, ts, line ") + kept_rows + "ORDER BY seq ASC LIMIT ?4")),
        find_token(db.prepare("SELECT nick, expires FROM tokens WHERE hash = ?1 AND expires > ?2")),
        kept(kept_count(retain_messages)) {}
  Connection db;
  Statement newest;
  Statement oldest;
  Statement find_token;
  std::int64_t kept;  // ?5 of newest and oldest
};

}  // namespace

struct SqliteHistoryStore::Impl {
  struct AppendJob {
    std::vector<StoredMessage> batch;
    Completion<void(AppendResult)> done;
  };
  struct SaveTokenJob {
    std::string nick;
    std::string hash;
    Timestamp expires;
    Completion<void(std::error_code)> done;
  };
  struct RemoveTokenJob {
    std::string hash;
    Completion<void(std::error_code)> done;
  };
  struct RetentionJob {
    Completion<void(std::error_code, RetentionReport)> done;
  };
  struct PageLimitJob {
    std::uint64_t pages;
  };
  using WriteJob = std::variant<AppendJob, SaveTokenJob, RemoveTokenJob, RetentionJob, PageLimitJob>;
  using ReadJob = std::function<void(ReaderConnection*)>;  // nullptr: the store closed first

  struct RoomRow {
    std::int64_t id = 0;
    Seq last_seq = 0;
    Seq committed_seq = 0;  // last_seq as of the last commit
    std::size_t appended = 0;  // in the open transaction
    Seq trimmed_through = 0;   // no message at or below this seq is left
  };

  SqliteStoreOptions options;
  std::string path;
  std::string epoch;
  std::vector<RoomSeq> opened_seqs;
  std::vector<StoredToken> opened_tokens;

  // The writer's connection, statements and view of the rooms: touched by the
  // writer thread only (and by the constructor before it starts).
  std::unique_ptr<Connection> writer_db;
  Statement insert_room, insert_message, update_room, trim_room, trim_range, first_young, save_token, remove_token,
      purge_tokens, list_rooms;
  std::map<std::string, RoomRow, std::less<>> rooms;
  std::vector<RoomRow*> touched;
  // The sweep in progress: the rooms left to look at.
  std::vector<std::pair<std::int64_t, Seq>> sweep_rooms;
  std::size_t sweep_next = 0;
  bool sweeping = false;
  std::chrono::steady_clock::time_point next_sweep;

  std::mutex mutex;  // guards the queues and `closed`
  std::condition_variable write_ready;
  std::condition_variable read_ready;
  std::deque<WriteJob> writes;
  std::deque<ReadJob> reads;
  bool closed = false;
  std::thread writer;
  std::vector<std::thread> readers;

  explicit Impl(SqliteStoreOptions opts) : options(std::move(opts)) {
    if (!options.clock) options.clock = system_now;
    if (options.retention_step == 0) options.retention_step = 1;
    if (options.reader_threads == 0) options.reader_threads = 1;
    prepare_directory(options.data_dir);
    path = (options.data_dir / file_name).string();
    const bool fresh = prepare_file(path);
    writer_db = std::make_unique<Connection>(path, open_flags);
    open_schema(fresh);
    prepare_writer();
    load_rooms(true);
    for (const auto& [name, row] : rooms) opened_seqs.push_back(RoomSeq{name, row.last_seq});
    load_tokens();
    // Readers open their connections here so that an unusable file fails the open.
    std::vector<std::unique_ptr<ReaderConnection>> connections;
    for (std::size_t i = 0; i < options.reader_threads; ++i)
      connections.push_back(std::make_unique<ReaderConnection>(path, options.retention.retain_messages));
    sweeping = false;
    next_sweep = std::chrono::steady_clock::now() + options.retention_interval;
    writer = std::thread([this] { run_writer(); });
    for (auto& connection : connections)
      readers.emplace_back([this, c = std::move(connection)]() mutable { run_reader(std::move(c)); });
  }

  ~Impl() { close(); }

  void close() {
    {
      std::lock_guard lock(mutex);
      if (closed) return;
      closed = true;
    }
    write_ready.notify_all();
    read_ready.notify_all();
    if (writer.joinable()) writer.join();
    for (auto& reader : readers)
      if (reader.joinable()) reader.join();
    // Statements go before their connection.
    insert_room = {}, insert_message = {}, update_room = {}, trim_room = {}, trim_range = {}, first_young = {};
    save_token = {}, remove_token = {}, purge_tokens = {}, list_rooms = {};
    writer_db.reset();
  }

  // ---------------------------------------------------------------- opening

  void open_schema(bool fresh) {
    Connection& db = *writer_db;
    const std::string damaged = path + ": not a chatd history database, or damaged";
    // The first statement that reads the file: a file that is not SQLite fails here.
    if (db.exec("PRAGMA journal_mode=WAL") != SQLITE_OK) throw StoreError(damaged + " (" + db.error_message() + ")");
    db.exec_or_throw(options.sync == Sync::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                     "cannot set the synchronous mode");
    db.exec_or_throw("PRAGMA journal_size_limit=67108864", "cannot limit the journal");
    const int latest = static_cast<int>(migrations.size());
    if (fresh) {
      db.exec_or_throw("BEGIN IMMEDIATE", "cannot start the schema transaction");
      db.exec_or_throw("CREATE TABLE schema_version(version INTEGER NOT NULL); INSERT INTO schema_version VALUES(0)",
                       "cannot create the schema");
      migrate(0, latest);
      auto set_epoch = db.prepare("INSERT INTO meta(key, value) VALUES('epoch', ?1)");
      epoch = new_epoch();
      set_epoch.bind_text(1, epoch);
      if (set_epoch.step() != SQLITE_DONE) throw StoreError(path + ": cannot store the epoch: " + db.error_message());
      db.exec_or_throw("COMMIT", "cannot create the schema");
      return;
    }
    int version = 0;
    try {
      auto has_table = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
      if (has_table.step() != SQLITE_ROW || has_table.column_int(0) == 0)
        throw StoreError("no schema_version table");
      auto read_version = db.prepare("SELECT version FROM schema_version");
      if (read_version.step() != SQLITE_ROW) throw StoreError("no schema version");
      version = static_cast<int>(read_version.column_int(0));
    } catch (const StoreError& e) {
      throw StoreError(damaged + " (" + e.what() + ")");
    }
    if (version > latest)
      throw StoreError(path + ": schema version " + std::to_string(version) + " is newer than this chatd's (" +
                       std::to_string(latest) + "); use a newer chatd or another --data-dir");
    if (version < latest) {
      db.exec_or_throw("BEGIN IMMEDIATE", "cannot start the migration");
      migrate(version, latest);
      db.exec_or_throw("COMMIT", "cannot migrate the schema");
    }
    auto get_epoch = db.prepare("SELECT value FROM meta WHERE key = 'epoch'");
    if (get_epoch.step() != SQLITE_ROW) throw StoreError(damaged + " (no epoch)");
    epoch = std::string(get_epoch.column_text(0));
  }

  void migrate(int from, int to) {
    for (int v = from; v < to; ++v)
      writer_db->exec_or_throw(migrations[static_cast<std::size_t>(v)],
                               "cannot migrate the schema to version " + std::to_string(v + 1));
    auto set = writer_db->prepare("UPDATE schema_version SET version = ?1");
    set.bind(1, to);
    if (set.step() != SQLITE_DONE) throw StoreError(path + ": cannot record the schema version");
  }

  void prepare_writer() {
    Connection& db = *writer_db;
    insert_room = db.prepare("INSERT INTO rooms(name, last_seq) VALUES(?1, 0)");
    insert_message = db.prepare("INSERT INTO messages(room_id, seq, ts, line) VALUES(?1, ?2, ?3, ?4)");
    update_room = db.prepare("UPDATE rooms SET last_seq = ?2 WHERE id = ?1");
    trim_room = db.prepare(
        "DELETE FROM messages WHERE room_id = ?1 AND seq IN "
        "(SELECT seq FROM messages WHERE room_id = ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3)");
    trim_range = db.prepare("DELETE FROM messages WHERE room_id = ?1 AND seq > ?2 AND seq <= ?3");
    first_young = db.prepare("SELECT seq FROM messages WHERE room_id = ?1 AND ts >= ?2 ORDER BY seq LIMIT 1");
    save_token = db.prepare("INSERT OR REPLACE INTO tokens(hash, nick, expires) VALUES(?1, ?2, ?3)");
    remove_token = db.prepare("DELETE FROM tokens WHERE hash = ?1");
    purge_tokens = db.prepare(
        "DELETE FROM tokens WHERE hash IN (SELECT hash FROM tokens WHERE expires <= ?1 LIMIT ?2)");
    list_rooms = db.prepare(
        "SELECT id, name, last_seq, (SELECT min(seq) FROM messages WHERE room_id = rooms.id) FROM rooms");
  }

  // At open a failure to list the rooms is fatal; later (after a rollback)
  // the next transaction meets the same failure and reports it.
  void load_rooms(bool opening = false) {
    rooms.clear();
    touched.clear();
    ResetOnExit reset(list_rooms);
    int rc;
    while ((rc = list_rooms.step()) == SQLITE_ROW) {
      const auto seq = static_cast<Seq>(list_rooms.column_int(2));
      // No message left: everything up to the last seq is gone.
      const auto oldest = list_rooms.column_is_null(3) ? seq + 1 : static_cast<Seq>(list_rooms.column_int(3));
      rooms.emplace(std::string(list_rooms.column_text(1)), RoomRow{list_rooms.column_int(0), seq, seq, 0, oldest - 1});
    }
    if (rc != SQLITE_DONE && opening)
      throw StoreError(path + ": not a chatd history database, or damaged (" + writer_db->error_message() + ")");
  }

  void load_tokens() {
    Statement live = writer_db->prepare("SELECT hash, nick, expires FROM tokens WHERE expires > ?1");
    live.bind(1, options.clock());
    int rc;
    while ((rc = live.step()) == SQLITE_ROW)
      opened_tokens.push_back(StoredToken{std::string(live.column_blob(0)), std::string(live.column_text(1)),
                                          live.column_int(2)});
    if (rc != SQLITE_DONE) throw StoreError(path + ": cannot read the resume tokens (" + writer_db->error_message() + ")");
  }

  // ---------------------------------------------------------------- writer

  void run_writer() {
    for (;;) {
      std::deque<WriteJob> jobs;
      bool stop = false;
      {
        std::unique_lock lock(mutex);
        if (!sweeping)
          write_ready.wait_until(lock, next_sweep, [&] { return closed || !writes.empty(); });
        jobs.swap(writes);
        stop = closed && jobs.empty();
      }
      if (stop) break;
      if (!jobs.empty()) {
        run_jobs(jobs);
        continue;
      }
      if (!sweeping && std::chrono::steady_clock::now() >= next_sweep) start_sweep();
      if (sweeping) {
        RetentionReport ignored;
        sweep_step(ignored);
      }
    }
    // Anything handed over after the last batch was taken is answered as closed.
  }

  void run_jobs(std::deque<WriteJob>& jobs) {
    std::vector<WriteJob*> group;
    for (auto& job : jobs) {
      if (std::holds_alternative<AppendJob>(job) || std::holds_alternative<SaveTokenJob>(job) ||
          std::holds_alternative<RemoveTokenJob>(job)) {
        group.push_back(&job);
        continue;
      }
      run_group(group);
      group.clear();
      if (auto* retention = std::get_if<RetentionJob>(&job)) {
        RetentionReport report;
        std::error_code error;
        if (!sweeping) start_sweep();
        while (sweeping && !error) error = sweep_step(report);
        retention->done.complete(error, report);
      } else if (auto* limit = std::get_if<PageLimitJob>(&job)) {
        const std::string pragma = "PRAGMA max_page_count=" +
                                   std::to_string(limit->pages ? limit->pages : 0xfffffffeULL);
        writer_db->exec(pragma.c_str());
      }
    }
    run_group(group);
  }

  void rollback() {
    if (writer_db->in_transaction()) writer_db->exec("ROLLBACK");
    load_rooms();  // forget rooms and seqs of the transaction that did not happen
  }

  RoomRow* room_row(const std::string& name, std::error_code& error) {
    if (auto it = rooms.find(name); it != rooms.end()) return &it->second;
    ResetOnExit reset(insert_room);
    insert_room.bind_text(1, name);
    if (const int rc = insert_room.step(); rc != SQLITE_DONE) {
      error = sqlite::to_error(rc);
      return nullptr;
    }
    return &rooms.emplace(name, RoomRow{writer_db->last_insert_rowid(), 0, 0, 0}).first->second;
  }

  // One message inside the open transaction. A database failure is returned
  // and aborts the transaction; a seq out of order only fails the message.
  std::error_code insert(const StoredMessage& m, MessageStatus& status, std::error_code& message_error) {
    std::error_code error;
    RoomRow* room = room_row(m.room, error);
    if (!room) return error;
    if (m.seq <= room->last_seq || m.seq > static_cast<Seq>(std::numeric_limits<std::int64_t>::max())) {
      status = MessageStatus::failed;
      message_error = store_errc::seq_not_ascending;
      return {};
    }
    ResetOnExit reset(insert_message);
    insert_message.bind(1, room->id).bind(2, to_db_seq(m.seq)).bind(3, m.ts).bind_text(4, line_to_db(m.line));
    if (const int rc = insert_message.step(); rc != SQLITE_DONE) return sqlite::to_error(rc);
    if (room->appended++ == 0) touched.push_back(room);
    room->last_seq = m.seq;
    status = MessageStatus::committed;
    return {};
  }

  // The rooms' new last seqs, and each room appended to trimmed to
  // retain_messages. A room is trimmed once a retention_step of its messages
  // is past retention, by one range delete of at most twice what it just
  // received or a retention_step, whichever is more: deleting a few hundred
  // neighbouring rows at once rewrites a few pages, where a trim on every
  // commit rewrites the room's oldest page every time. Reads never return
  // what is past retention (kept_rows), deleted yet or not.
  std::error_code finish_rooms() {
    for (RoomRow* room : touched) {
      {
        ResetOnExit reset(update_room);
        update_room.bind(1, room->id).bind(2, to_db_seq(room->last_seq));
        if (const int rc = update_room.step(); rc != SQLITE_DONE) return sqlite::to_error(rc);
      }
      const auto keep = options.retention.retain_messages;
      if (keep == 0 || room->last_seq <= keep) continue;
      const Seq bound = room->last_seq - keep;
      if (bound < room->trimmed_through + options.retention_step) continue;
      const Seq through = std::min<Seq>(bound, room->trimmed_through + std::max(options.retention_step, 2 * room->appended));
      ResetOnExit reset(trim_range);
      trim_range.bind(1, room->id).bind(2, to_db_seq(room->trimmed_through)).bind(3, to_db_seq(through));
      if (const int rc = trim_range.step(); rc != SQLITE_DONE) return sqlite::to_error(rc);
      room->trimmed_through = through;
    }
    return {};
  }

  std::error_code commit() {
    if (auto error = finish_rooms()) return error;
    if (const int rc = writer_db->exec("COMMIT"); rc != SQLITE_OK) return sqlite::to_error(rc);
    for (RoomRow* room : touched) {
      room->committed_seq = room->last_seq;
      room->appended = 0;
    }
    touched.clear();
    return {};
  }

  std::error_code begin() {
    if (const int rc = writer_db->exec("BEGIN IMMEDIATE"); rc != SQLITE_OK) return sqlite::to_error(rc);
    return {};
  }

  std::error_code apply_token(WriteJob& job) {
    if (auto* save = std::get_if<SaveTokenJob>(&job)) {
      ResetOnExit reset(save_token);
      save_token.bind_blob(1, save->hash).bind_text(2, save->nick).bind(3, save->expires);
      return sqlite::to_error(save_token.step());
    }
    auto& remove = std::get<RemoveTokenJob>(job);
    ResetOnExit reset(remove_token);
    remove_token.bind_blob(1, remove.hash);
    return sqlite::to_error(remove_token.step());
  }

  void complete_token(WriteJob& job, std::error_code error) {
    if (auto* save = std::get_if<SaveTokenJob>(&job))
      save->done.complete(error);
    else
      std::get<RemoveTokenJob>(job).done.complete(error);
  }

  // Everything handed over since the last transaction, in one transaction.
  // If it fails, each message and token change is tried alone, so that only
  // what cannot be stored is reported failed.
  void run_group(std::vector<WriteJob*>& group) {
    if (group.empty()) return;
    std::vector<AppendResult> results(group.size());
    std::error_code error = begin();
    for (std::size_t i = 0; i < group.size() && !error; ++i) {
      if (auto* append = std::get_if<AppendJob>(group[i])) {
        auto& result = results[i];
        result.status.assign(append->batch.size(), MessageStatus::failed);
        for (std::size_t k = 0; k < append->batch.size() && !error; ++k)
          error = insert(append->batch[k], result.status[k], result.error);
      } else {
        error = apply_token(*group[i]);
      }
    }
    if (!error) error = commit();
    if (!error) {
      for (std::size_t i = 0; i < group.size(); ++i) {
        if (auto* append = std::get_if<AppendJob>(group[i]))
          append->done.complete(std::move(results[i]));
        else
          complete_token(*group[i], {});
      }
      return;
    }
    rollback();
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (auto* append = std::get_if<AppendJob>(group[i])) {
        AppendResult result;
        result.status.assign(append->batch.size(), MessageStatus::failed);
        for (std::size_t k = 0; k < append->batch.size(); ++k) {
          std::error_code message_error;
          std::error_code failure = begin();
          if (!failure) failure = insert(append->batch[k], result.status[k], message_error);
          if (!failure) failure = commit();
          if (failure) {
            rollback();
            result.status[k] = MessageStatus::failed;
            message_error = failure;
          }
          if (message_error && !result.error) result.error = message_error;
        }
        append->done.complete(std::move(result));
      } else {
        std::error_code failure = begin();
        if (!failure) failure = apply_token(*group[i]);
        if (!failure) failure = commit();
        if (failure) rollback();
        complete_token(*group[i], failure);
      }
    }
  }

  // ---------------------------------------------------------------- retention

  void start_sweep() {
    sweep_rooms.clear();
    for (const auto& [name, row] : rooms) sweep_rooms.emplace_back(row.id, row.committed_seq);
    sweep_next = 0;
    sweeping = true;
    next_sweep = std::chrono::steady_clock::now() + options.retention_interval;
  }

  // The seq at or below which a room's messages are past retention.
  std::optional<Seq> retention_bound(std::int64_t room_id, Seq last_seq, Timestamp now, std::error_code& error) {
    std::optional<Seq> bound;
    const auto keep = options.retention.retain_messages;
    if (keep > 0 && last_seq > keep) bound = last_seq - keep;
    if (options.retention.retain_days > 0) {
      const Timestamp cutoff = now - static_cast<Timestamp>(options.retention.retain_days) * ms_per_day;
      ResetOnExit reset(first_young);
      first_young.bind(1, room_id).bind(2, cutoff);
      const int rc = first_young.step();
      Seq young_from = last_seq + 1;  // no young message: all are old
      if (rc == SQLITE_ROW)
        young_from = static_cast<Seq>(first_young.column_int(0));
      else if (rc != SQLITE_DONE)
        error = sqlite::to_error(rc);
      if (young_from > 1) bound = std::max(bound.value_or(0), young_from - 1);
    }
    return bound;
  }

  // One retention transaction: expired tokens, then up to retention_step
  // messages of the next rooms past retention. Ends the sweep after the last room.
  std::error_code sweep_step(RetentionReport& report) {
    const Timestamp now = options.clock();
    std::int64_t budget = static_cast<std::int64_t>(options.retention_step);
    std::int64_t deleted = 0;
    std::error_code error = begin();
    if (!error && sweep_next == 0) {
      ResetOnExit reset(purge_tokens);
      purge_tokens.bind(1, now).bind(2, budget);
      error = sqlite::to_error(purge_tokens.step());
      if (!error) deleted += writer_db->changes();
    }
    // Looking at a room costs an index probe: a step looks at a bounded number.
    for (int looked = 0; !error && sweep_next < sweep_rooms.size() && budget - deleted > 0 && looked < 256; ++looked) {
      const auto [room_id, last_seq] = sweep_rooms[sweep_next];
      const auto bound = retention_bound(room_id, last_seq, now, error);
      if (error) break;
      std::int64_t removed = 0;
      if (bound) {
        ResetOnExit reset(trim_room);
        trim_room.bind(1, room_id).bind(2, to_db_seq(*bound)).bind(3, budget - deleted);
        error = sqlite::to_error(trim_room.step());
        if (error) break;
        removed = writer_db->changes();
        deleted += removed;
      }
      if (removed < budget - (deleted - removed)) ++sweep_next;  // the room is done
    }
    if (!error) error = commit();
    if (error) {
      rollback();
      sweeping = false;  // try again at the next sweep
      return error;
    }
    if (deleted > 0) {
      report.deleted += static_cast<std::uint64_t>(deleted);
      ++report.steps;
    }
    if (sweep_next >= sweep_rooms.size()) sweeping = false;
    return {};
  }

  // ---------------------------------------------------------------- readers

  void run_reader(std::unique_ptr<ReaderConnection> connection) {
    for (;;) {
      ReadJob job;
      {
        std::unique_lock lock(mutex);
        read_ready.wait(lock, [&] { return closed || !reads.empty(); });
        if (reads.empty()) break;
        job = std::move(reads.front());
        reads.pop_front();
      }
      job(connection.get());
    }
  }

  // False when the store is closed: the caller completes with `closed`.
  bool enqueue_write(WriteJob&& job) {
    {
      std::lock_guard lock(mutex);
      if (closed) return false;
      writes.push_back(std::move(job));
    }
    write_ready.notify_one();
    return true;
  }

  bool enqueue_read(ReadJob&& job) {
    {
      std::lock_guard lock(mutex);
      if (closed) return false;
      reads.push_back(std::move(job));
    }
    read_ready.notify_one();
    return true;
  }
};

// ---------------------------------------------------------------- reads

namespace {

std::error_code read_page(ReaderConnection& c, const HistoryQuery& query, HistoryPage& page) {
  const std::int64_t after = query.after ? to_db_seq(*query.after) : -1;
  const std::int64_t before = query.before ? to_db_seq(*query.before) : std::numeric_limits<std::int64_t>::max();
  if (query.limit == 0 || after >= before) {
    page.more = false;
    if (query.limit == 0 && after < before) {
      // Only whether the range is empty matters.
      Statement& stmt = c.newest;
      ResetOnExit reset(stmt);
      stmt.bind_text(1, query.room).bind(2, after).bind(3, before).bind(4, 1).bind(5, c.kept);
      page.more = stmt.step() == SQLITE_ROW;
    }
    return {};
  }
  Statement& stmt = query.after ? c.oldest : c.newest;
  ResetOnExit reset(stmt);
  const auto fetch = static_cast<std::int64_t>(std::min<std::size_t>(query.limit, 1u << 30)) + 1;
  stmt.bind_text(1, query.room).bind(2, after).bind(3, before).bind(4, fetch).bind(5, c.kept);
  std::size_t bytes = 0;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    const std::string_view text = stmt.column_text(2);
    if (page.messages.size() >= query.limit || (query.max_bytes && bytes + text.size() + 1 > query.max_bytes)) {
      page.more = true;
      break;
    }
    bytes += text.size() + 1;
    page.messages.push_back(HistoryEntry{static_cast<Seq>(stmt.column_int(0)), stmt.column_int(1), line_from_db(text)});
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    page = {};
    return sqlite::to_error(rc);
  }
  if (!query.after) std::reverse(page.messages.begin(), page.messages.end());
  return {};
}

}  // namespace

SqliteHistoryStore::SqliteHistoryStore(SqliteStoreOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

SqliteHistoryStore::~SqliteHistoryStore() { close(); }

int SqliteHistoryStore::schema_version() { return static_cast<int>(migrations.size()); }

const std::string& SqliteHistoryStore::epoch() const { return impl_->epoch; }

const std::vector<RoomSeq>& SqliteHistoryStore::room_seqs() const { return impl_->opened_seqs; }
const std::vector<StoredToken>& SqliteHistoryStore::tokens_at_open() const { return impl_->opened_tokens; }

void SqliteHistoryStore::close() { impl_->close(); }

void SqliteHistoryStore::set_max_page_count(std::uint64_t pages) { impl_->enqueue_write(Impl::PageLimitJob{pages}); }

void SqliteHistoryStore::start_append(std::vector<StoredMessage> batch, AppendHandler handler) {
  const std::size_t size = batch.size();
  Impl::AppendJob job{std::move(batch), Completion<void(AppendResult)>(std::move(handler))};
  Impl::WriteJob queued(std::move(job));
  if (impl_->enqueue_write(std::move(queued))) return;
  AppendResult result;
  result.status.assign(size, MessageStatus::failed);
  result.error = store_errc::closed;
  std::get<Impl::AppendJob>(queued).done.complete(std::move(result));
}

void SqliteHistoryStore::start_save_token(std::string nick, std::string hash, Timestamp expires,
                                          DoneHandler handler) {
  Impl::WriteJob queued(
      Impl::SaveTokenJob{std::move(nick), std::move(hash), expires, Completion<void(std::error_code)>(std::move(handler))});
  if (!impl_->enqueue_write(std::move(queued)))
    std::get<Impl::SaveTokenJob>(queued).done.complete(std::error_code(store_errc::closed));
}

void SqliteHistoryStore::start_remove_token(std::string hash, DoneHandler handler) {
  Impl::WriteJob queued(Impl::RemoveTokenJob{std::move(hash), Completion<void(std::error_code)>(std::move(handler))});
  if (!impl_->enqueue_write(std::move(queued)))
    std::get<Impl::RemoveTokenJob>(queued).done.complete(std::error_code(store_errc::closed));
}

void SqliteHistoryStore::start_enforce_retention(RetentionHandler handler) {
  Impl::WriteJob queued(Impl::RetentionJob{Completion<void(std::error_code, RetentionReport)>(std::move(handler))});
  if (!impl_->enqueue_write(std::move(queued)))
    std::get<Impl::RetentionJob>(queued).done.complete(std::error_code(store_errc::closed), RetentionReport{});
}

void SqliteHistoryStore::start_read(HistoryQuery query, ReadHandler handler) {
  auto done = std::make_shared<Completion<void(std::error_code, HistoryPage)>>(std::move(handler));
  auto job = [done, query = std::move(query)](ReaderConnection* c) {
    HistoryPage page;
    std::error_code error = c ? read_page(*c, query, page) : std::error_code(store_errc::closed);
    done->complete(error, std::move(page));
  };
  if (!impl_->enqueue_read(job)) job(nullptr);
}

void SqliteHistoryStore::start_find_token(std::string hash, FindTokenHandler handler) {
  auto done = std::make_shared<Completion<void(std::error_code, std::optional<ResumeRecord>)>>(std::move(handler));
  auto clock = impl_->options.clock;
  auto job = [done, clock, hash = std::move(hash)](ReaderConnection* c) {
    if (!c) return done->complete(std::error_code(store_errc::closed), std::optional<ResumeRecord>());
    std::optional<ResumeRecord> found;
    ResetOnExit reset(c->find_token);
    c->find_token.bind_blob(1, hash).bind(2, clock());
    const int rc = c->find_token.step();
    if (rc == SQLITE_ROW) found = ResumeRecord{std::string(c->find_token.column_text(0)), c->find_token.column_int(1)};
    done->complete(rc == SQLITE_ROW ? std::error_code() : sqlite::to_error(rc), std::move(found));
  };
  if (!impl_->enqueue_read(job)) job(nullptr);
}

void SqliteHistoryStore::start_backup(std::string target, DoneHandler handler) {
  auto done = std::make_shared<Completion<void(std::error_code)>>(std::move(handler));
  auto job = [done, target = std::move(target)](ReaderConnection* c) {
    if (!c) return done->complete(std::error_code(store_errc::closed));
    // The copy is created 0600 and empty, which VACUUM INTO accepts; an
    // existing file is left alone.
    const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return done->complete(std::error_code(errno, std::generic_category()));
    ::close(fd);
    int rc = SQLITE_ERROR;
    try {
      Statement vacuum = c->db.prepare("VACUUM INTO ?1");
      vacuum.bind_text(1, target);
      rc = vacuum.step();
    } catch (const StoreError&) {
    }
    if (rc != SQLITE_DONE) ::unlink(target.c_str());
    done->complete(sqlite::to_error(rc));
  };
  if (!impl_->enqueue_read(job)) job(nullptr);
}

std::error_code SqliteHistoryStore::export_room(std::string_view room,
                                                const std::function<void(const HistoryEntry&)>& sink) {
  // Its own connection and one read transaction: a consistent snapshot that
  // holds up neither the writer nor the readers.
  std::optional<Connection> opened;
  try {
    opened.emplace(impl_->path, open_flags);
  } catch (const StoreError&) {
    return store_errc::io;
  }
  Connection& db = *opened;
  if (const int rc = db.exec("BEGIN"); rc != SQLITE_OK) return sqlite::to_error(rc);
  Statement stmt = db.prepare(std::string("SELECT seq, ts, line ") + kept_rows + "ORDER BY seq");
  stmt.bind_text(1, room).bind(2, -1).bind(3, std::numeric_limits<std::int64_t>::max());
  stmt.bind(5, kept_count(impl_->options.retention.retain_messages));
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW)
    sink(HistoryEntry{static_cast<Seq>(stmt.column_int(0)), stmt.column_int(1), line_from_db(stmt.column_text(2))});
  stmt = {};
  db.exec("COMMIT");
  return rc == SQLITE_DONE ? std::error_code() : sqlite::to_error(rc);
}

}  // namespace corochat::server::store
