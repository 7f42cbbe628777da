// A thin RAII layer over the SQLite C API: a connection and its prepared
// statements. Results come back as SQLite result codes (the hot path treats
// failures as values); only opening and preparing throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <sqlite3.h>

namespace corochat::server::store::sqlite {

// The store's error for a SQLite result code (full, io, corrupt, failed).
std::error_code to_error(int rc);

class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    if (this != &other) {
      sqlite3_finalize(stmt_);
      stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
  }
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& bind_text(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    return *this;
  }
  Statement& bind_blob(int index, std::string_view bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  // Ready for the next use; bound text is only borrowed until then.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t column_int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool column_is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string_view column_text(int column) const {
    auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return {text ? text : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
  }
  std::string_view column_blob(int column) const {
    auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    return {bytes ? bytes : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when leaving a scope, whatever the path out.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& stmt) : stmt_(stmt) {}
  ~ResetOnExit() { stmt_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& stmt_;
};

class Connection {
 public:
  // Throws StoreError naming `path` when the file cannot be opened.
  Connection(std::string path, int flags);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // A result code; error_message() says more.
  int exec(const char* sql);
  // Throws StoreError naming the path, the step (`what`) and SQLite's reason.
  void exec_or_throw(const char* sql, std::string_view what);
  Statement prepare(std::string_view sql);
  std::string error_message() const { return sqlite3_errmsg(db_); }
  const std::string& path() const { return path_; }
  bool in_transaction() const { return !sqlite3_get_autocommit(db_); }
  std::int64_t changes() const { return sqlite3_changes64(db_); }
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace corochat::server::store::sqlite
