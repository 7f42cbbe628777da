#include "cli/duration.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

namespace corochat::cli {

std::optional<Duration> parse_duration(std::string_view text, std::string& why) {
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || end == text.data()) {
    why = "expected a number and a unit: 500ms, 30s or 2m";
    return std::nullopt;
  }
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::uint64_t per_unit = 0;
  if (unit == "ms") per_unit = 1;
  else if (unit == "s") per_unit = 1000;
  else if (unit == "m") per_unit = 60'000;
  else if (unit.empty() && number == 0) per_unit = 1;
  else if (unit.empty()) {
    const std::string n(text);
    why = "needs a unit: " + n + "s or " + n + "ms";
    return std::nullopt;
  } else {
    why = "unknown unit '" + std::string(unit) + "': use ms, s or m";
    return std::nullopt;
  }
  if (number > static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max()) / per_unit) {
    why = "too long";
    return std::nullopt;
  }
  return Duration(static_cast<Duration::rep>(number * per_unit));
}

std::string duration_text(Duration duration) {
  const auto ms = duration.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

}  // namespace corochat::cli
