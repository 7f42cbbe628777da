#include "config.hpp"

#include <cctype>
#include <charconv>

namespace corochat::chat_client {
namespace {

void skip_blanks(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

// A "basic string" at the start of `s`, consumed; nullopt when malformed.
std::optional<std::string> take_string(std::string_view& s) {
  if (s.empty() || s.front() != '"') return std::nullopt;
  std::string out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"') {
      s.remove_prefix(i + 1);
      return out;
    }
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i == s.size()) return std::nullopt;
    switch (s[i]) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case 't': out.push_back('\t'); break;
      case 'n': out.push_back('\n'); break;
      default: return std::nullopt;
    }
  }
  return std::nullopt;  // no closing quote
}

struct Value {
  enum Kind { string, integer, boolean, strings } kind = string;
  std::string text;
  bool flag = false;
  std::vector<std::string> list;
};

std::optional<Value> take_value(std::string_view& s) {
  Value v;
  if (s.starts_with("\"")) {
    auto text = take_string(s);
    if (!text) return std::nullopt;
    v.text = std::move(*text);
    return v;
  }
  if (s.starts_with("[")) {
    v.kind = Value::strings;
    s.remove_prefix(1);
    for (;;) {
      skip_blanks(s);
      if (s.starts_with("]")) {
        s.remove_prefix(1);
        return v;
      }
      auto item = take_string(s);
      if (!item) return std::nullopt;
      v.list.push_back(std::move(*item));
      skip_blanks(s);
      if (s.starts_with(",")) s.remove_prefix(1);
      else if (!s.starts_with("]")) return std::nullopt;
    }
  }
  for (const auto& [word, flag] : {std::pair{"true", true}, std::pair{"false", false}}) {
    if (s.starts_with(word)) {
      v.kind = Value::boolean;
      v.flag = flag;
      s.remove_prefix(std::string_view(word).size());
      return v;
    }
  }
  long long number = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
  if (ec != std::errc{} || end == s.data()) return std::nullopt;
  v.kind = Value::integer;
  v.text.assign(s.data(), end);
  s.remove_prefix(static_cast<std::size_t>(end - s.data()));
  return v;
}

// Stores `value` under `key`; the error, or "" when done.
std::string store(ConfigFile& c, std::string_view key, Value value) {
  auto text = [&](std::optional<std::string>& out) -> std::string {
    if (value.kind != Value::string) return std::string(key) + " must be a \"string\"";
    out = std::move(value.text);
    return {};
  };
  auto flag = [&](std::optional<bool>& out) -> std::string {
    if (value.kind != Value::boolean) return std::string(key) + " must be true or false";
    out = value.flag;
    return {};
  };
  if (key == "server") return text(c.server);
  if (key == "host") return text(c.host);
  if (key == "nick") return text(c.nick);
  if (key == "room") return text(c.room);
  if (key == "password_file") return text(c.password_file);
  if (key == "ca") return text(c.ca);
  if (key == "tls") return flag(c.tls);
  if (key == "bell") return flag(c.bell);
  if (key == "input_history") return flag(c.input_history);
  if (key == "port") {
    if (value.kind != Value::string && value.kind != Value::integer) return "port must be a number";
    c.port = std::move(value.text);
    return {};
  }
  if (key == "highlight") {
    if (value.kind == Value::string) c.highlight.push_back(std::move(value.text));
    else if (value.kind == Value::strings) c.highlight.insert(c.highlight.end(), value.list.begin(), value.list.end());
    else return "highlight must be a \"word\" or a list of them";
    return {};
  }
  return "unknown key " + std::string(key);
}

}  // namespace

ConfigResult parse_config(std::string_view text) {
  ConfigResult result;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto fail = [&](std::string what) {
      result.error = "line " + std::to_string(number) + ": " + std::move(what);
      return result;
    };
    skip_blanks(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') return fail("sections are not supported");
    std::size_t key_end = 0;
    while (key_end < line.size() && (std::isalnum(static_cast<unsigned char>(line[key_end])) || line[key_end] == '_'))
      ++key_end;
    const std::string_view key = line.substr(0, key_end);
    line.remove_prefix(key_end);
    skip_blanks(line);
    if (key.empty() || !line.starts_with("=")) return fail("expected key = value");
    line.remove_prefix(1);
    skip_blanks(line);
    auto value = take_value(line);
    if (!value) return fail("bad value for " + std::string(key));
    skip_blanks(line);
    if (!line.empty() && line.front() != '#') return fail("unexpected text after the value of " + std::string(key));
    if (std::string error = store(result.config, key, std::move(*value)); !error.empty()) return fail(error);
  }
  return result;
}

}  // namespace corochat::chat_client
