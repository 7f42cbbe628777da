#include "server/store/sqlite.hpp"

#include "server/store/history_store.hpp"

namespace corochat::server::store::sqlite {

std::error_code to_error(int rc) {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return {};
    case SQLITE_FULL: return store_errc::full;
    case SQLITE_IOERR: return store_errc::io;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return store_errc::corrupt;
    default: return store_errc::failed;
  }
}

Connection::Connection(std::string path, int flags) : path_(std::move(path)) {
  const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string reason = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StoreError(path_ + ": cannot open the history database: " + reason);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
}

Connection::~Connection() { sqlite3_close_v2(db_); }

int Connection::exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

void Connection::exec_or_throw(const char* sql, std::string_view what) {
  if (exec(sql) != SQLITE_OK) throw StoreError(path_ + ": " + std::string(what) + ": " + error_message());
}

Statement Connection::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                    &stmt, nullptr);
  if (rc != SQLITE_OK) throw StoreError(path_ + ": cannot prepare a statement: " + error_message());
  return Statement(stmt);
}

}  // namespace corochat::server::store::sqlite
