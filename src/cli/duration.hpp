// Durations as every program and scenario file reads them: a whole number
// with its unit, "500ms", "30s", "2m"; a bare "0" is the only number without
// one. A bare "120" is refused rather than read as seconds or milliseconds.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace corochat::cli {

using Duration = std::chrono::milliseconds;

// The duration, or nullopt with `why` set ("needs a unit: 120s or 120ms").
std::optional<Duration> parse_duration(std::string_view text, std::string& why);
// The text parse_duration reads back: "120s", "500ms", "0s".
std::string duration_text(Duration duration);

}  // namespace corochat::cli
