// One line per event to stderr, written whole.
#pragma once

#include <sstream>
#include <string_view>

namespace corochat::server::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(Level level);
bool enabled(Level level);
bool parse_level(std::string_view text, Level& out);
void write_line(Level level, const std::string& text);

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

}  // namespace corochat::server::log
