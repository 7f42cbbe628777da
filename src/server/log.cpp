#include "server/log.hpp"

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include <sys/stat.h>

namespace corochat::server::log {
namespace {
std::atomic<Level> current{Level::warn};
std::atomic<bool> to_journal{false};

std::string_view name(Level level) {
  switch (level) {
    case Level::error: return "error";
    case Level::warn: return "warn";
    case Level::info: return "info";
    case Level::debug: return "debug";
  }
  return "?";
}
}  // namespace

void set_level(Level level) { current = level; }
bool enabled(Level level) { return level <= current.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, Level& out) {
  for (Level l : {Level::error, Level::warn, Level::info, Level::debug})
    if (text == name(l)) {
      out = l;
      return true;
    }
  return false;
}

int syslog_priority(Level level) {
  switch (level) {
    case Level::error: return 3;
    case Level::warn: return 4;
    case Level::info: return 6;
    case Level::debug: return 7;
  }
  return 6;
}

std::string format_line(Level level, std::string_view text, bool journal) {
  std::string line;
  line.reserve(text.size() + 16);
  if (journal) {
    line += '<';
    line += static_cast<char>('0' + syslog_priority(level));
    line += '>';
  } else {
    line += "chatd ";
  }
  line += name(level);
  line += ": ";
  line += text;
  line += '\n';
  return line;
}

bool names_stream(std::string_view journal_stream, unsigned long long device, unsigned long long inode) {
  const auto colon = journal_stream.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long dev = 0, ino = 0;
  const char* begin = journal_stream.data();
  const char* middle = begin + colon;
  const char* end = begin + journal_stream.size();
  auto [dev_end, dev_ec] = std::from_chars(begin, middle, dev);
  auto [ino_end, ino_ec] = std::from_chars(middle + 1, end, ino);
  return dev_ec == std::errc{} && dev_end == middle && ino_ec == std::errc{} && ino_end == end && colon > 0 &&
         dev == device && ino == inode;
}

void detect_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  const bool journal = stream && ::fstat(2, &st) == 0 &&
                       names_stream(stream, static_cast<unsigned long long>(st.st_dev),
                                    static_cast<unsigned long long>(st.st_ino));
  to_journal = journal;
}

void write_line(Level level, const std::string& text) {
  const std::string line = format_line(level, text, to_journal.load(std::memory_order_relaxed));
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace corochat::server::log
