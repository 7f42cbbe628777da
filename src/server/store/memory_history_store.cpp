#include "server/store/memory_history_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <openssl/rand.h>

namespace corochat::server::store {

namespace {
constexpr Timestamp ms_per_day = 24LL * 60 * 60 * 1000;
}

std::string new_epoch() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw StoreError("no random bytes for a new epoch");
  char text[17];
  for (int i = 0; i < 8; ++i) std::snprintf(text + 2 * i, 3, "%02x", bytes[i]);
  return std::string(text, 16);
}

Timestamp system_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

HistoryPage select_page(const std::deque<HistoryEntry>& entries, const HistoryQuery& query) {
  auto by_seq = [](const HistoryEntry& e, Seq seq) { return e.seq < seq; };
  auto first = entries.begin();
  auto last = entries.end();
  if (query.after) first = std::lower_bound(entries.begin(), entries.end(), *query.after + 1, by_seq);
  if (query.before) last = std::lower_bound(first, entries.end(), *query.before, by_seq);
  HistoryPage page;
  const auto available = static_cast<std::size_t>(last - first);
  std::size_t bytes = 0;
  auto fits = [&](const HistoryEntry& e) {
    if (page.messages.size() >= query.limit) return false;
    if (query.max_bytes && bytes + e.line->size() > query.max_bytes) return false;
    bytes += e.line->size();
    return true;
  };
  if (query.after) {
    for (auto it = first; it != last && fits(*it); ++it) page.messages.push_back(*it);
  } else {
    for (auto it = last; it != first && fits(*(it - 1)); --it) page.messages.push_back(*(it - 1));
    std::reverse(page.messages.begin(), page.messages.end());
  }
  page.more = page.messages.size() < available;
  return page;
}

MemoryHistoryStore::MemoryHistoryStore(MemoryStoreOptions options)
    : options_(std::move(options)), epoch_(new_epoch()) {
  if (!options_.clock) options_.clock = system_now;
}

MemoryHistoryStore::~MemoryHistoryStore() { close(); }

void MemoryHistoryStore::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

std::uint64_t MemoryHistoryStore::trim(Room& room, Timestamp now) {
  std::uint64_t removed = 0;
  const auto keep = options_.retention.retain_messages;
  if (keep > 0)
    while (!room.entries.empty() && room.entries.front().seq + keep <= room.last_seq) {
      room.entries.pop_front();
      ++removed;
    }
  if (options_.retention.retain_days > 0) {
    const Timestamp cutoff = now - options_.retention.retain_days * ms_per_day;
    while (!room.entries.empty() && room.entries.front().ts < cutoff) {
      room.entries.pop_front();
      ++removed;
    }
  }
  return removed;
}

void MemoryHistoryStore::start_append(std::vector<StoredMessage> batch, AppendHandler handler) {
  Completion<void(AppendResult)> done(std::move(handler));
  AppendResult result;
  result.status.assign(batch.size(), MessageStatus::failed);
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      result.error = store_errc::closed;
    } else {
      const Timestamp now = options_.clock();
      for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& m = batch[i];
        auto it = rooms_.find(m.room);
        if (it == rooms_.end()) it = rooms_.emplace(std::move(m.room), Room{}).first;
        Room& room = it->second;
        if (m.seq <= room.last_seq) {
          if (!result.error) result.error = store_errc::seq_not_ascending;
          continue;
        }
        room.last_seq = m.seq;
        room.entries.push_back(HistoryEntry{m.seq, m.ts, std::move(m.line)});
        result.status[i] = MessageStatus::committed;
        trim(room, now);
      }
    }
  }
  done.complete(std::move(result));
}

void MemoryHistoryStore::start_read(HistoryQuery query, ReadHandler handler) {
  Completion<void(std::error_code, HistoryPage)> done(std::move(handler));
  std::error_code error;
  HistoryPage page;
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      error = store_errc::closed;
    } else if (auto it = rooms_.find(query.room); it != rooms_.end()) {
      page = select_page(it->second.entries, query);
    }
  }
  done.complete(error, std::move(page));
}

void MemoryHistoryStore::start_save_token(std::string nick, std::string hash, Timestamp expires,
                                          DoneHandler handler) {
  Completion<void(std::error_code)> done(std::move(handler));
  std::error_code error;
  {
    std::lock_guard lock(mutex_);
    if (closed_)
      error = store_errc::closed;
    else
      tokens_[std::move(hash)] = ResumeRecord{std::move(nick), expires};
  }
  done.complete(error);
}

void MemoryHistoryStore::start_find_token(std::string hash, FindTokenHandler handler) {
  Completion<void(std::error_code, std::optional<ResumeRecord>)> done(std::move(handler));
  std::error_code error;
  std::optional<ResumeRecord> found;
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      error = store_errc::closed;
    } else if (auto it = tokens_.find(hash); it != tokens_.end() && it->second.expires > options_.clock()) {
      found = it->second;
    }
  }
  done.complete(error, std::move(found));
}

void MemoryHistoryStore::start_remove_token(std::string hash, DoneHandler handler) {
  Completion<void(std::error_code)> done(std::move(handler));
  std::error_code error;
  {
    std::lock_guard lock(mutex_);
    if (closed_)
      error = store_errc::closed;
    else
      tokens_.erase(hash);
  }
  done.complete(error);
}

void MemoryHistoryStore::start_enforce_retention(RetentionHandler handler) {
  Completion<void(std::error_code, RetentionReport)> done(std::move(handler));
  std::error_code error;
  RetentionReport report;
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      error = store_errc::closed;
    } else {
      const Timestamp now = options_.clock();
      for (auto& [name, room] : rooms_) report.deleted += trim(room, now);
      report.deleted += std::erase_if(tokens_, [&](const auto& t) { return t.second.expires <= now; });
      report.steps = report.deleted ? 1 : 0;
    }
  }
  done.complete(error, report);
}

void MemoryHistoryStore::start_backup(std::string, DoneHandler handler) {
  Completion<void(std::error_code)> done(std::move(handler));
  done.complete(std::error_code(store_errc::unsupported));
}

std::error_code MemoryHistoryStore::export_room(std::string_view room,
                                                const std::function<void(const HistoryEntry&)>& sink) {
  std::deque<HistoryEntry> copy;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return store_errc::closed;
    if (auto it = rooms_.find(room); it != rooms_.end()) copy = it->second.entries;
  }
  for (const auto& entry : copy) sink(entry);
  return {};
}

}  // namespace corochat::server::store
