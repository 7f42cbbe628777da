// The default history store: one SQLite file, DATA_DIR/history.sqlite3 (WAL
// mode; the directory 0700, the files 0600).
//
// Threads: one writer with its own connection runs every append, token change
// and retention step; appends handed over while a transaction runs go into the
// next one together (group commit). Reads, backups and token look-ups run on a
// small pool of reader threads, each with its own connection. No call blocks
// its caller, except opening, export_room and close.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "server/store/history_store.hpp"

namespace corochat::server::store {

enum class Sync {
  normal,  // synchronous=NORMAL: survives a process crash
  full,    // synchronous=FULL: fsync per transaction, survives power loss
};

struct SqliteStoreOptions {
  std::filesystem::path data_dir;
  Sync sync = Sync::normal;
  RetentionPolicy retention;
  // Messages deleted per retention transaction at most, so that retention
  // never holds the writer for long.
  std::size_t retention_step = 500;
  // How often the writer sweeps every room for retention and expired tokens
  // (it also trims each room it appends to, as it appends), the first time
  // this long after opening.
  std::chrono::milliseconds retention_interval{std::chrono::minutes(1)};
  std::size_t reader_threads = 2;
  // Milliseconds since the Unix epoch: ages messages and tokens. The system
  // clock unless set.
  std::function<Timestamp()> clock;
};

class SqliteHistoryStore final : public HistoryStore {
 public:
  // Opens (or creates) the store; throws StoreError naming the path when it
  // cannot: not a directory or not writable, not a chatd history database or
  // damaged, a schema newer than this program's.
  explicit SqliteHistoryStore(SqliteStoreOptions options);
  ~SqliteHistoryStore() override;

  static constexpr const char* file_name = "history.sqlite3";
  // The schema version this program writes and reads.
  static int schema_version();

  const std::string& epoch() const override;
  const std::vector<RoomSeq>& room_seqs() const override;
  const std::vector<StoredToken>& tokens_at_open() const override;
  std::error_code export_room(std::string_view room,
                              const std::function<void(const HistoryEntry&)>& sink) override;
  void close() override;

  // Caps the database at `pages` pages (PRAGMA max_page_count; never below
  // its current size): a size quota, and how tests make the disk full. 0
  // lifts the cap. Applies from the next transaction on.
  void set_max_page_count(std::uint64_t pages);

 protected:
  void start_append(std::vector<StoredMessage> batch, AppendHandler handler) override;
  void start_read(HistoryQuery query, ReadHandler handler) override;
  void start_save_token(std::string nick, std::string hash, Timestamp expires, DoneHandler handler) override;
  void start_find_token(std::string hash, FindTokenHandler handler) override;
  void start_remove_token(std::string hash, DoneHandler handler) override;
  void start_enforce_retention(RetentionHandler handler) override;
  void start_backup(std::string target, DoneHandler handler) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace corochat::server::store
