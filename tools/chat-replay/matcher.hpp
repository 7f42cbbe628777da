// Matching received events against expectations, captures and variables.
// Pure functions, unit-tested on their own.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace corochat::replay {

using Variables = std::map<std::string, std::string, std::less<>>;

// True when `actual` has everything `expected` has: objects by their keys
// (extra keys in `actual` are fine), arrays element by element with the same
// length, numbers by value, everything else by equality.
bool matches(const boost::json::value& expected, const boost::json::value& actual);

// The value at a dot path ("seq", "limits.history", "messages.0.seq").
const boost::json::value* find_path(const boost::json::value& root, std::string_view path);

// The text a captured value stands for: a string's characters, or the JSON of
// anything else (so "${token}" and ${seq} both read naturally in a scenario).
std::string capture_text(const boost::json::value& value);

// Replaces each ${name}. Returns nullopt and the name when one is unknown.
std::optional<std::string> substitute(std::string_view text, const Variables& variables,
                                      std::string* unknown = nullptr);

}  // namespace corochat::replay
