#include "recording.hpp"

#include <cstdio>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace corochat::replay {
namespace json = boost::json;

bool is_volatile_field(std::string_view key) {
  return key == "ts" || key == "epoch" || key == "token" || key == "server";
}

std::string quote_bytes(std::string_view bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          char hex[5];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {
void strip_volatile(json::value& v) {
  if (v.is_object()) {
    // Rebuilt rather than erased from: erasing moves the last key into the
    // gap, and a recording reads best in the server's own field order.
    json::object kept;
    for (auto& [key, value] : v.get_object()) {
      if (is_volatile_field(key)) continue;
      strip_volatile(value);
      kept.emplace(key, std::move(value));
    }
    v = std::move(kept);
  } else if (v.is_array()) {
    for (auto& e : v.get_array()) strip_volatile(e);
  }
}
}  // namespace

std::string Recording::connected(const std::string& client) { return client + " connect\n"; }

std::string Recording::sent(const std::string& client, std::string_view line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object() || line.find("${") != std::string_view::npos)
    return client + " send-raw " + quote_bytes(std::string(line) + "\n") + "\n";
  // A resume token from an earlier welcome becomes the variable holding it.
  std::string text(line);
  for (const auto& [token, variable] : tokens_)
    for (std::size_t at; (at = text.find(token)) != std::string::npos;)
      text.replace(at, token.size(), "${" + variable + "}");
  return client + " send " + text + "\n";
}

std::string Recording::received(const std::string& client, std::string_view line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object()) return "# " + client + " received a line that is not a JSON object: " + quote_bytes(line) + "\n";
  std::string capture;
  if (const json::value* token = v.get_object().if_contains("token"); token && token->is_string()) {
    const std::string variable = "token_" + client;
    tokens_[std::string(token->get_string())] = variable;
    capture = " capture " + variable + "=token";
  }
  strip_volatile(v);
  return client + " expect " + json::serialize(v) + capture + "\n";
}

std::string Recording::client_closed(const std::string& client) { return client + " close\n"; }

std::string Recording::server_closed(const std::string& client) { return client + " expect-close\n"; }

std::string Recording::pause_since_last(std::chrono::steady_clock::time_point now) {
  using std::chrono::milliseconds;
  std::string out;
  if (last_ != std::chrono::steady_clock::time_point{}) {
    const auto gap = std::chrono::duration_cast<milliseconds>(now - last_).count();
    if (gap >= 20) out = "pause " + std::to_string(gap) + "ms\n";
  }
  last_ = now;
  return out;
}

}  // namespace corochat::replay
