// One line per event to stderr, written whole.
#pragma once

#include <chrono>
#include <cstddef>
#include <sstream>
#include <string_view>

namespace corochat::server::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(Level level);
bool enabled(Level level);
bool parse_level(std::string_view text, Level& out);
void write_line(Level level, const std::string& text);

// A line as written to stderr. For the journal, it starts with the level's
// syslog priority ("<4>warn: ..."), which journald strips and records, so
// that `journalctl -p warning` selects by level; else "chatd warn: ...".
std::string format_line(Level level, std::string_view text, bool journal);
// The syslog priority of a level: error 3, warn 4, info 6, debug 7.
int syslog_priority(Level level);
// $JOURNAL_STREAM ("DEVICE:INODE", set by systemd when it connects stderr to
// the journal) names the stream `device` and `inode` describe.
bool names_stream(std::string_view journal_stream, unsigned long long device, unsigned long long inode);
// Checks whether stderr is the journal's stream and formats for it from then
// on. The environment variable alone is not enough: a program started from a
// service inherits it with a different stderr.
void detect_journal();

template <class... Parts>
void write(Level level, const Parts&... parts) {
  if (!enabled(level)) return;
  std::ostringstream line;
  (line << ... << parts);
  write_line(level, line.str());
}

template <class... Parts> void error(const Parts&... p) { write(Level::error, p...); }
template <class... Parts> void warn(const Parts&... p) { write(Level::warn, p...); }
template <class... Parts> void info(const Parts&... p) { write(Level::info, p...); }
template <class... Parts> void debug(const Parts&... p) { write(Level::debug, p...); }

// For what peers can cause over and over (failed TLS handshakes, running out
// of descriptors): at most one line per interval, so that a flood of them can
// neither fill the disk nor, with a stalled log reader, block chatd on stderr.
class Throttle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Throttle(Clock::duration interval) : interval_(interval) {}

  // One more occurrence. True when it is to be written; `folded` then holds
  // how many were left out since the last line written.
  bool due(Clock::time_point now, std::size_t& folded) {
    if (written_ != Clock::time_point{} && now - written_ < interval_) {
      ++folded_;
      return false;
    }
    folded = folded_;
    folded_ = 0;
    written_ = now;
    return true;
  }

 private:
  Clock::duration interval_;
  Clock::time_point written_{};
  std::size_t folded_ = 0;
};

}  // namespace corochat::server::log

#include <exception>

namespace corochat::server {

// Logs what escapes a coroutine instead of dropping it silently (asio#1111).
inline auto log_failure(const char* what) {
  return [what](std::exception_ptr failure) {
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      log::error(what, " failed: ", e.what());
    } catch (...) {
      log::error(what, " failed");
    }
  };
}

}  // namespace corochat::server
