// The history store: each room's messages (the `message` event lines as they
// were sent), each room's last seq, the server epoch and resume tokens.
//
// Two implementations sit behind HistoryStore: MemoryHistoryStore (nothing
// survives the process, `--store memory`) and SqliteHistoryStore (the default,
// one SQLite file in `--data-dir`). The interface names no SQLite type, so a
// networked store (Redis, shared by several chatd nodes) can take its place.
//
// Guarantees
// - Opening is synchronous and throws StoreError naming the path when the
//   store cannot be used (unwritable directory, corrupt file, schema newer
//   than this program). Opening never reads the messages themselves: epoch()
//   and room_seqs() come from small tables.
// - epoch() stays the same for as long as the store is intact; a new (or
//   lost) store has a new epoch. room_seqs() is each room's last stored seq as
//   the store was opened: the caller owns the seqs from then on.
// - The async_ calls may be made from any thread. Each completes exactly once,
//   never inside the call itself, on the completion handler's associated
//   executor (a coroutine's with use_awaitable or corochat::use_tuple; give a
//   plain callback one with asio::bind_executor). The executor is kept busy
//   (outstanding work) until then. The work itself runs off the caller's
//   thread: SqliteHistoryStore's writer thread (appends, tokens, retention)
//   and reader threads (reads, token look-ups, backups); MemoryHistoryStore
//   does it in the call, under a mutex, and only posts the completion.
// - async_append: the messages of one call are stored in their order and
//   complete together, with one status per message: committed (durable as
//   below) or failed (disk full, I/O error, a seq not above the room's last
//   stored seq). A failure does not stop the store: later appends succeed once
//   the cause is gone. Appends handed over while a previous transaction runs
//   share the next transaction (group commit).
// - A read made after an append completed sees that append. Reads return the
//   lines exactly as appended ('\n' included), oldest first.
// - Durability (SQLite): Sync::normal (WAL, synchronous=NORMAL) survives a
//   crash of the process (kill -9); a power loss or OS crash may lose the last
//   transactions but never corrupts the file. Sync::full fsyncs every
//   transaction before its appends complete, so committed survives power loss.
// - Retention: at most retain_messages per room (counted by seq: seqs at or
//   below last seq - retain_messages are never read again, and deleted in
//   steps) and, when retain_days > 0,
//   nothing older than that (by the message's ts; a room's messages are
//   dropped oldest seq first, so ts is taken to grow with seq). The store
//   enforces it by itself, a few hundred rows per transaction, between appends.
// - Resume tokens are kept as SHA-256 hashes, never in plain text.
// - close() (or the destructor) finishes every call already made, completing
//   its handler, then releases the store. Executors handlers are bound to must
//   still be alive then.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/execution/relationship.hpp>
#include <boost/asio/prefer.hpp>

#include "corochat/protocol/events.hpp"

namespace corochat::server::store {

using protocol::SharedLine;
using protocol::Timestamp;
using Seq = std::uint64_t;

// One room message to store. `line` is the `message` event as sent, '\n'
// included. Private messages are never handed to the store.
struct StoredMessage {
  std::string room;
  Seq seq = 0;
  Timestamp ts = 0;
  SharedLine line;
};

// One message read back (the room is the query's).
struct HistoryEntry {
  Seq seq = 0;
  Timestamp ts = 0;
  SharedLine line;
};

enum class MessageStatus : std::uint8_t { committed, failed };

struct AppendResult {
  std::vector<MessageStatus> status;  // one per message of the call, in its order
  std::error_code error;              // why the first failed message failed; none if all committed
  bool all_committed() const {
    for (auto s : status)
      if (s != MessageStatus::committed) return false;
    return true;
  }
};

// The messages with after < seq < before (either bound may be absent), at
// most `limit`. With `after` given the page starts at the oldest of that range
// (paging forward, catching up); without it the page ends at the newest
// (latest, or paging back with `before`). Either way it is returned oldest
// first. max_bytes > 0 also cuts the page, from its far end, before the lines'
// total size would pass it.
struct HistoryQuery {
  std::string room;
  std::optional<Seq> before;
  std::optional<Seq> after;
  std::size_t limit = 50;
  std::size_t max_bytes = 0;
};

struct HistoryPage {
  std::vector<HistoryEntry> messages;  // oldest first
  bool more = false;                   // the range holds messages beyond this page
};

struct RoomSeq {
  std::string room;
  Seq seq = 0;
};

struct ResumeRecord {
  std::string nick;
  Timestamp expires = 0;  // ms since the Unix epoch
};

// A resume token kept across a restart: its hash and the nick it was given for.
struct StoredToken {
  std::string hash;  // token_hash() of the token
  std::string nick;
  Timestamp expires = 0;
};

struct RetentionPolicy {
  std::size_t retain_messages = 10000;  // per room; 0: no count limit
  unsigned retain_days = 0;             // 0: forever
};

struct RetentionReport {
  std::uint64_t deleted = 0;  // messages and expired tokens removed
  std::uint64_t steps = 0;    // transactions that removed them
};

enum class store_errc {
  closed = 1,        // the store was closed before the call
  full,              // no space left (disk or configured size)
  io,                // the storage failed to read or write
  corrupt,           // the stored data is damaged
  seq_not_ascending, // a message's seq is not above its room's last stored seq
  unsupported,       // this store cannot do that (a backup of memory)
  failed,            // any other failure of the storage
};
const std::error_category& store_category() noexcept;
inline std::error_code make_error_code(store_errc e) noexcept { return {static_cast<int>(e), store_category()}; }

// Opening the store failed; the message names the path and the cause.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// SHA-256 of a resume token, as stored (32 raw bytes).
std::string token_hash(std::string_view token);

class HistoryStore {
 public:
  using AppendHandler = boost::asio::any_completion_handler<void(AppendResult)>;
  using ReadHandler = boost::asio::any_completion_handler<void(std::error_code, HistoryPage)>;
  using DoneHandler = boost::asio::any_completion_handler<void(std::error_code)>;
  using FindTokenHandler =
      boost::asio::any_completion_handler<void(std::error_code, std::optional<ResumeRecord>)>;
  using RetentionHandler = boost::asio::any_completion_handler<void(std::error_code, RetentionReport)>;

  virtual ~HistoryStore() = default;

  virtual const std::string& epoch() const = 0;
  virtual const std::vector<RoomSeq>& room_seqs() const = 0;
  // The unexpired resume tokens found when the store was opened: the
  // connections that were open when the server last stopped.
  virtual const std::vector<StoredToken>& tokens_at_open() const = 0;

  // void(AppendResult)
  template <typename Token>
  auto async_append(std::vector<StoredMessage> batch, Token&& token) {
    return boost::asio::async_initiate<Token, void(AppendResult)>(
        [this](auto handler, std::vector<StoredMessage> batch) {
          start_append(std::move(batch), AppendHandler(std::move(handler)));
        },
        token, std::move(batch));
  }
  // void(error_code, HistoryPage)
  template <typename Token>
  auto async_read(HistoryQuery query, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, HistoryPage)>(
        [this](auto handler, HistoryQuery query) { start_read(std::move(query), ReadHandler(std::move(handler))); },
        token, std::move(query));
  }
  // Keeps (nick, hash of token, expiry). void(error_code)
  template <typename Token>
  auto async_save_token(std::string nick, std::string_view token, Timestamp expires, Token&& token_handler) {
    return boost::asio::async_initiate<Token, void(std::error_code)>(
        [this](auto handler, std::string nick, std::string hash, Timestamp expires) {
          start_save_token(std::move(nick), std::move(hash), expires, DoneHandler(std::move(handler)));
        },
        token_handler, std::move(nick), token_hash(token), expires);
  }
  // The unexpired record of a token, found by its hash. void(error_code, optional<ResumeRecord>)
  template <typename Token>
  auto async_find_token(std::string_view token, Token&& token_handler) {
    return boost::asio::async_initiate<Token, void(std::error_code, std::optional<ResumeRecord>)>(
        [this](auto handler, std::string hash) { start_find_token(std::move(hash), FindTokenHandler(std::move(handler))); },
        token_handler, token_hash(token));
  }
  // void(error_code)
  template <typename Token>
  auto async_remove_token(std::string_view token, Token&& token_handler) {
    return boost::asio::async_initiate<Token, void(std::error_code)>(
        [this](auto handler, std::string hash) { start_remove_token(std::move(hash), DoneHandler(std::move(handler))); },
        token_handler, token_hash(token));
  }
  // Enforces retention now, to the end, in steps (the store also does it on
  // its own). void(error_code, RetentionReport)
  template <typename Token>
  auto async_enforce_retention(Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code, RetentionReport)>(
        [this](auto handler) { start_enforce_retention(RetentionHandler(std::move(handler))); }, token);
  }
  // A consistent copy of the store, made while it runs, into `target` (a file
  // that must not exist yet). void(error_code)
  template <typename Token>
  auto async_backup(std::string target, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::error_code)>(
        [this](auto handler, std::string target) { start_backup(std::move(target), DoneHandler(std::move(handler))); },
        token, std::move(target));
  }

  // Streams a room's stored messages, oldest first, to `sink`, blocking the
  // calling thread (for `chatd --export-history`, not for the event loop).
  virtual std::error_code export_room(std::string_view room,
                                      const std::function<void(const HistoryEntry&)>& sink) = 0;

  // Finishes every call made so far and releases the store; later calls
  // complete with store_errc::closed. Idempotent, blocking.
  virtual void close() = 0;

 protected:
  virtual void start_append(std::vector<StoredMessage> batch, AppendHandler handler) = 0;
  virtual void start_read(HistoryQuery query, ReadHandler handler) = 0;
  virtual void start_save_token(std::string nick, std::string hash, Timestamp expires, DoneHandler handler) = 0;
  virtual void start_find_token(std::string hash, FindTokenHandler handler) = 0;
  virtual void start_remove_token(std::string hash, DoneHandler handler) = 0;
  virtual void start_enforce_retention(RetentionHandler handler) = 0;
  virtual void start_backup(std::string target, DoneHandler handler) = 0;
};

// A handler waiting for its result: keeps its executor busy, and completes it
// there with a post (never inline), from whichever thread finishes the work.
template <typename Signature>
class Completion {
 public:
  explicit Completion(boost::asio::any_completion_handler<Signature> handler)
      : work_(boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                  boost::asio::execution::outstanding_work.tracked)),
        handler_(std::move(handler)) {}

  template <typename... Args>
  void complete(Args&&... args) {
    namespace execution = boost::asio::execution;
    // What asio::post does, on an executor that can only be asked (prefer) for never-blocking.
    auto executor = boost::asio::prefer(std::move(work_), execution::blocking.never, execution::relationship.fork);
    executor.execute([handler = std::move(handler_), ... args = std::forward<Args>(args)]() mutable {
      std::move(handler)(std::move(args)...);
    });
  }

 private:
  boost::asio::any_completion_executor work_;
  boost::asio::any_completion_handler<Signature> handler_;
};

}  // namespace corochat::server::store

template <>
struct std::is_error_code_enum<corochat::server::store::store_errc> : std::true_type {};
