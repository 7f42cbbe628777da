#include "matcher.hpp"

#include <charconv>

#include <boost/json/serialize.hpp>

namespace corochat::replay {
namespace json = boost::json;

namespace {
bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

bool same_number(const json::value& a, const json::value& b) {
  if (a.is_double() || b.is_double()) return a.to_number<double>() == b.to_number<double>();
  if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
  if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
  // One signed, one unsigned: equal only if the signed one is not negative.
  const json::value& s = a.is_int64() ? a : b;
  const json::value& u = a.is_int64() ? b : a;
  return s.get_int64() >= 0 && static_cast<std::uint64_t>(s.get_int64()) == u.get_uint64();
}
}  // namespace

bool matches(const json::value& expected, const json::value& actual) {
  if (is_number(expected) && is_number(actual)) return same_number(expected, actual);
  if (expected.is_object()) {
    if (!actual.is_object()) return false;
    const json::object& have = actual.get_object();
    for (const auto& [key, want] : expected.get_object()) {
      const json::value* got = have.if_contains(key);
      if (!got || !matches(want, *got)) return false;
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array()) return false;
    const auto& want = expected.get_array();
    const auto& got = actual.get_array();
    if (want.size() != got.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i)
      if (!matches(want[i], got[i])) return false;
    return true;
  }
  return expected == actual;
}

const json::value* find_path(const json::value& root, std::string_view path) {
  const json::value* at = &root;
  while (!path.empty()) {
    const std::size_t dot = path.find('.');
    const std::string_view key = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    if (at->is_object()) {
      at = at->get_object().if_contains(key);
    } else if (at->is_array()) {
      std::size_t index = 0;
      auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
      if (ec != std::errc{} || end != key.data() + key.size() || index >= at->get_array().size()) return nullptr;
      at = &at->get_array()[index];
    } else {
      return nullptr;
    }
    if (!at) return nullptr;
  }
  return at;
}

std::string capture_text(const json::value& value) {
  if (value.is_string()) return std::string(value.get_string());
  return json::serialize(value);
}

std::optional<std::string> substitute(std::string_view text, const Variables& variables, std::string* unknown) {
  std::string out;
  out.reserve(text.size());
  for (;;) {
    const std::size_t open = text.find("${");
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) break;
    const std::string_view name = text.substr(open + 2, close - open - 2);
    auto it = variables.find(name);
    if (it == variables.end()) {
      if (unknown) *unknown = std::string(name);
      return std::nullopt;
    }
    out.append(text.substr(0, open));
    out.append(it->second);
    text.remove_prefix(close + 1);
  }
  out.append(text);
  return out;
}

}  // namespace corochat::replay
