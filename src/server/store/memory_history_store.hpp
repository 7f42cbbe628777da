// The history store of `--store memory`: what chatd always did, in this
// process only. Every call does its work at once, under a mutex, and completes
// through a post to the handler's executor.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "server/store/history_store.hpp"

namespace corochat::server::store {

struct MemoryStoreOptions {
  RetentionPolicy retention;
  // Milliseconds since the Unix epoch: ages messages and tokens. The system
  // clock unless set.
  std::function<Timestamp()> clock;
};

class MemoryHistoryStore final : public HistoryStore {
 public:
  explicit MemoryHistoryStore(MemoryStoreOptions options = {});
  ~MemoryHistoryStore() override;

  const std::string& epoch() const override { return epoch_; }
  const std::vector<RoomSeq>& room_seqs() const override { return opened_seqs_; }
  const std::vector<StoredToken>& tokens_at_open() const override { return no_tokens_; }
  std::error_code export_room(std::string_view room,
                              const std::function<void(const HistoryEntry&)>& sink) override;
  void close() override;

 protected:
  void start_append(std::vector<StoredMessage> batch, AppendHandler handler) override;
  void start_read(HistoryQuery query, ReadHandler handler) override;
  void start_save_token(std::string nick, std::string hash, Timestamp expires, DoneHandler handler) override;
  void start_find_token(std::string hash, FindTokenHandler handler) override;
  void start_remove_token(std::string hash, DoneHandler handler) override;
  void start_enforce_retention(RetentionHandler handler) override;
  void start_backup(std::string target, DoneHandler handler) override;

 private:
  struct Room {
    Seq last_seq = 0;
    std::deque<HistoryEntry> entries;  // ascending seq
  };
  std::uint64_t trim(Room& room, Timestamp now);

  MemoryStoreOptions options_;
  std::string epoch_;
  std::vector<RoomSeq> opened_seqs_;  // always empty: a new store
  std::vector<StoredToken> no_tokens_;  // nothing outlives the process
  std::mutex mutex_;
  bool closed_ = false;
  std::map<std::string, Room, std::less<>> rooms_;
  std::map<std::string, ResumeRecord> tokens_;  // by token hash
};

// The page of `query` out of a room's entries (ascending seq): the rules of
// HistoryQuery, shared by the stores that keep entries in memory.
HistoryPage select_page(const std::deque<HistoryEntry>& entries, const HistoryQuery& query);

// A new random epoch: 16 hex digits.
std::string new_epoch();

// The system clock in ms since the Unix epoch.
Timestamp system_now();

}  // namespace corochat::server::store
