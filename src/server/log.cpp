#include "server/log.hpp"

#include <atomic>
#include <cstdio>

namespace corochat::server::log {
namespace {
std::atomic<Level> current{Level::warn};

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

void write_line(Level level, const std::string& text) {
  std::string line = "chatd ";
  line += name(level);
  line += ": ";
  line += text;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace corochat::server::log
