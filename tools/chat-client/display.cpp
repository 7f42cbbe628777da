#include "display.hpp"

#include <algorithm>
#include <ctime>
#include <cwchar>

#include <boost/json/value.hpp>

#include "activity.hpp"
#include "corochat/protocol/codes.hpp"
#include "corochat/protocol/event_type.hpp"
#include "corochat/protocol/names.hpp"

namespace corochat::chat_client {
namespace json = boost::json;
using protocol::ByeReason;
using protocol::ErrorCode;
using protocol::EventType;
using protocol::LeaveReason;
namespace {

constexpr std::string_view dim = "\x1b[2m";
constexpr std::string_view bold_green = "\x1b[1;32m";
constexpr std::string_view cyan = "\x1b[36m";
constexpr std::string_view magenta = "\x1b[35m";
constexpr std::string_view red = "\x1b[31m";
constexpr std::string_view mention_style = "\x1b[1;7m";  // bold reverse: seen from across the room
constexpr std::string_view reset = "\x1b[0m";

void append_hex(std::string& out, std::string_view prefix, unsigned value, int digits) {
  static constexpr char hex[] = "0123456789abcdef";
  out += prefix;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(hex[(value >> shift) & 0xf]);
}

// Length of the valid UTF-8 sequence at the start of `s` and its code point,
// or 0 when it is not one (overlong forms and surrogates are invalid).
std::size_t decode_utf8(std::string_view s, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t len = 0;
  char32_t min = 0;
  if (b0 < 0x80) { cp = b0; return 1; }
  if ((b0 & 0xe0) == 0xc0) { len = 2; cp = b0 & 0x1f; min = 0x80; }
  else if ((b0 & 0xf0) == 0xe0) { len = 3; cp = b0 & 0x0f; min = 0x800; }
  else if ((b0 & 0xf8) == 0xf0) { len = 4; cp = b0 & 0x07; min = 0x10000; }
  else return 0;
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// Code points that reorder or break the displayed line.
bool is_format_hazard(char32_t cp) {
  return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

std::string str(const json::object& o, std::string_view key) {
  if (const json::value* v = o.if_contains(key); v && v->is_string()) return sanitize(v->get_string());
  return {};
}

std::int64_t integer(const json::object& o, std::string_view key) {
  if (const json::value* v = o.if_contains(key)) {
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  }
  return 0;
}

std::string paint(std::string_view colour, std::string_view text, const DisplayContext& c) {
  if (!c.colour) return std::string(text);
  std::string out(colour);
  out += text;
  out += reset;
  return out;
}

std::string stamp(const json::object& e, const DisplayContext& c) {
  if (!e.contains("ts")) return {};
  return c.clock(integer(e, "ts")) + " ";
}

bool same_nick(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto fold = [](char ch) { return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch; };
    if (fold(a[i]) != fold(b[i])) return false;
  }
  return true;
}

std::string_view raw(const json::object& o, std::string_view key) {
  if (const json::value* v = o.if_contains(key); v && v->is_string()) return v->get_string();
  return {};
}

bool is_action(const json::object& e) {
  const json::value* v = e.if_contains("action");
  return v && v->is_bool() && v->get_bool();
}

std::string message_line(const json::object& e, const DisplayContext& c) {
  const std::string from = str(e, "from");
  const bool own = same_nick(from, c.own_nick);
  std::string line = stamp(e, c) + "[" + str(e, "room") + "] ";
  if (is_mention_event(e, c)) {
    const std::string body = is_action(e) ? "* " + from + " " + str(e, "text") : "<" + from + "> " + str(e, "text");
    return line + paint(mention_style, body, c);
  }
  if (is_action(e)) return line + paint(own ? bold_green : cyan, "* " + from, c) + " " + str(e, "text");
  // Own messages are marked in words too, so they stand out without colour.
  line += own ? paint(bold_green, "<" + from + " (me)>", c) : paint(cyan, "<" + from + ">", c);
  line += " " + str(e, "text");
  return line;
}

std::string private_line(const json::object& e, const DisplayContext& c) {
  const std::string from = str(e, "from");
  const bool own = same_nick(from, c.own_nick);
  std::string line = stamp(e, c) + paint(magenta, own ? "-> *" + str(e, "to") + "*" : "*" + from + "*", c) + " ";
  if (is_action(e)) line += "* " + from + " ";
  return line + str(e, "text");
}

std::string join_list(const json::value* list) {
  std::string out;
  if (!list || !list->is_array()) return out;
  for (const auto& item : list->get_array()) {
    if (!item.is_string()) continue;
    if (!out.empty()) out += ", ";
    out += sanitize(item.get_string());
  }
  return out;
}

std::string_view leave_words(std::string_view reason) {
  const std::optional<LeaveReason> known = protocol::parse_leave_reason(reason);
  if (!known) return "left";
  switch (*known) {
    case LeaveReason::part: return "left";
    case LeaveReason::quit: return "quit";
    case LeaveReason::disconnect: return "disconnected";
    case LeaveReason::timeout: return "timed out";
    case LeaveReason::slow_consumer: return "was dropped (too slow to read)";
    case LeaveReason::replaced: return "reconnected elsewhere";
    case LeaveReason::kicked: return "was kicked";
  }
  return "left";
}

std::string_view bye_words(std::string_view reason) {
  const std::optional<ByeReason> known = protocol::parse_bye_reason(reason);
  if (!known) return "the server closed the connection";
  switch (*known) {
    case ByeReason::quit: return "goodbye";
    case ByeReason::shutdown: return "the server is shutting down";
    case ByeReason::timeout: return "the server closed the connection: no activity";
    case ByeReason::auth_failed: return "wrong password";
    case ByeReason::server_full: return "the server is full";
    case ByeReason::replaced: return "your nick connected from somewhere else; this connection was closed";
    case ByeReason::registration_timeout: return "the server closed the connection: registration took too long";
  }
  return "the server closed the connection";
}

std::string field_of(const json::object* request, std::string_view key) {
  if (!request) return {};
  return str(*request, key);
}

}  // namespace

bool is_ignored(const json::object& e, const DisplayContext& c) {
  if (c.ignored.empty()) return false;
  const EventType type = protocol::event_type_of(e);
  auto ignored = [&](std::string_view key) {
    const std::string_view nick = raw(e, key);
    return !nick.empty() && c.ignored.contains(protocol::fold_nick(nick));
  };
  switch (type) {
    case EventType::message:
    case EventType::private_message: return ignored("from");
    case EventType::joined:
    case EventType::left: return ignored("nick");
    case EventType::nick: return ignored("old") || ignored("new");
    default: return false;
  }
}

bool is_mention_event(const json::object& e, const DisplayContext& c) {
  const EventType type = protocol::event_type_of(e);
  if (type != EventType::message && type != EventType::private_message) return false;
  if (same_nick(raw(e, "from"), c.own_nick)) return false;
  return type == EventType::private_message || is_mention(raw(e, "text"), c.own_nick, c.highlights);
}

std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    char32_t cp = 0;
    const std::size_t len = decode_utf8(text, cp);
    if (len == 0) {
      append_hex(out, "\\x", static_cast<unsigned char>(text[0]), 2);
      text.remove_prefix(1);
      continue;
    }
    if (cp < 0x20) {
      out.push_back('^');
      out.push_back(static_cast<char>(cp + 0x40));  // ESC -> ^[, BEL -> ^G
    } else if (cp == 0x7f) {
      out += "^?";
    } else if ((cp >= 0x80 && cp <= 0x9f) || is_format_hazard(cp)) {
      append_hex(out, "\\u", static_cast<unsigned>(cp), 4);
    } else {
      out.append(text.substr(0, len));
    }
    text.remove_prefix(len);
  }
  return out;
}

CursorPlace cursor_after(std::string_view text, std::size_t width) {
  CursorPlace at;
  auto advance = [&](std::size_t columns) {
    at.column += columns;
    if (width > 0 && at.column >= width) {
      ++at.row;
      at.column = 0;
    }
  };
  while (!text.empty()) {
    char32_t cp = 0;
    const std::size_t len = decode_utf8(text, cp);
    text.remove_prefix(std::max<std::size_t>(len, 1));
    if (len == 0) {
      advance(1);
    } else if (cp == '\t') {
      do advance(1);
      while (at.column % 8 != 0);
    } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
      advance(1);  // '^' and the letter may fall on different rows
      advance(1);
    } else if (const int w = ::wcwidth(static_cast<wchar_t>(cp)); w < 0) {
      for (int i = cp > 0xffff ? 8 : 7; i > 0; --i) advance(1);  // libedit writes \U+XXXX
    } else if (w > 0) {
      if (width > 0 && at.column > 0 && at.column + static_cast<std::size_t>(w) > width) {
        ++at.row;
        at.column = 0;
      }
      advance(static_cast<std::size_t>(w));
    }
  }
  return at;
}

std::string local_time(std::int64_t ts_ms) {
  const std::time_t seconds = static_cast<std::time_t>(ts_ms / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char buffer[8];
  std::strftime(buffer, sizeof buffer, "%H:%M", &tm);
  return buffer;
}

std::string describe_error(std::string_view code, std::string_view server_message, const json::object* request) {
  const std::string room = field_of(request, "room");
  const std::string nick = request ? (request->contains("to") ? field_of(request, "to") : field_of(request, "nick"))
                                   : std::string();
  auto about = [](std::string_view what, const std::string& name) {
    return name.empty() ? std::string(what) : std::string(what) + " " + name;
  };
  const std::optional<ErrorCode> known = protocol::parse_error_code(code);
  if (known) {
    switch (*known) {
      case ErrorCode::bad_json: return "the server could not read a request (not valid JSON)";
      case ErrorCode::bad_request: return "the server refused a malformed request: " + sanitize(server_message);
      case ErrorCode::unknown_type: return "the server does not know that request";
      case ErrorCode::line_too_long: return "that line is too long for the server";
      case ErrorCode::not_registered: return "not registered with the server yet";
      case ErrorCode::already_registered: return "already registered";
      case ErrorCode::auth_failed: return "wrong password";
      case ErrorCode::bad_nick: return about("not a valid nick:", nick);
      case ErrorCode::nick_taken: return nick.empty() ? "that nick is taken" : "the nick " + nick + " is taken";
      case ErrorCode::bad_room: return about("not a valid room name:", room);
      case ErrorCode::not_in_room: return room.empty() ? "not a member of that room" : "not a member of " + room;
      case ErrorCode::already_joined: return room.empty() ? "already in that room" : "already in " + room;
      case ErrorCode::no_such_nick: return nick.empty() ? "no such nick" : "nobody is called " + nick;
      case ErrorCode::text_too_long: return "message too long for the server";
      case ErrorCode::rate_limited: return "sending too fast; the server dropped a request";
      case ErrorCode::too_many_rooms: return "too many rooms: part one first";
      case ErrorCode::server_full: return "the server is full";
      case ErrorCode::unavailable: return "the server could not store that; nobody got it, try again later";
    }
  }
  return "error " + sanitize(code) + ": " + sanitize(server_message);
}

std::string format_event(const json::object& e, const DisplayContext& c, const json::object* request) {
  if (is_ignored(e, c)) return {};
  switch (protocol::event_type_of(e)) {
    case EventType::message: return message_line(e, c);
    case EventType::private_message: return private_line(e, c);
    case EventType::joined:
      return paint(dim, stamp(e, c) + "-- " + str(e, "nick") + " joined " + str(e, "room"), c);
    case EventType::left: {
      const std::string reason = str(e, "reason");
      std::string text = stamp(e, c) + "-- " + str(e, "nick") + " " + std::string(leave_words(reason)) + " " +
                         str(e, "room");
      return paint(dim, text, c);
    }
    case EventType::nick:
      return paint(dim, stamp(e, c) + "-- " + str(e, "old") + " is now known as " + str(e, "new"), c);
    case EventType::who: {
      const std::string members = join_list(e.if_contains("members"));
      const std::string room = str(e, "room");
      return paint(dim, (room.empty() ? "-- online: " : "-- in " + room + ": ") + (members.empty() ? "nobody" : members),
                   c);
    }
    case EventType::rooms: {
      std::string list;
      if (const json::value* rooms = e.if_contains("rooms"); rooms && rooms->is_array()) {
        for (const auto& item : rooms->get_array()) {
          if (!item.is_object()) continue;
          if (!list.empty()) list += ", ";
          list += str(item.get_object(), "room") + " (" + std::to_string(integer(item.get_object(), "members")) + ")";
        }
      }
      return paint(dim, "-- rooms: " + (list.empty() ? std::string("none") : list), c);
    }
    case EventType::history: {
      std::string out;
      std::size_t count = 0;
      if (const json::value* messages = e.if_contains("messages"); messages && messages->is_array()) {
        for (const auto& m : messages->get_array()) {
          if (!m.is_object() || is_ignored(m.get_object(), c)) continue;
          out += "\n" + message_line(m.get_object(), c);
          ++count;
        }
      }
      return paint(dim, "-- history of " + str(e, "room") + " (" + std::to_string(count) + " messages)", c) + out;
    }
    case EventType::welcome: {
      std::string text = "-- connected to " + str(e, "server") + " as " + str(e, "nick");
      const std::string rooms = join_list(e.if_contains("rooms"));
      if (!rooms.empty()) text += "; rooms: " + rooms;
      std::string out = paint(dim, text, c);
      if (const std::string motd = str(e, "motd"); !motd.empty()) out += "\n" + paint(dim, "-- " + motd, c);
      return out;
    }
    case EventType::bye: return paint(dim, "-- " + std::string(bye_words(str(e, "reason"))), c);
    case EventType::error:
      return paint(red, "!! " + describe_error(str(e, "code"), str(e, "message"), request), c);
    case EventType::ping:
    case EventType::pong: return {};
    case EventType::unknown: break;
  }
  return paint(dim, "-- (unknown event " + sanitize(raw(e, "type")) + ")", c);
}

std::string notice(std::string_view text, const DisplayContext& c) { return paint(dim, "-- " + std::string(text), c); }
std::string problem(std::string_view text, const DisplayContext& c) { return paint(red, "!! " + std::string(text), c); }

}  // namespace corochat::chat_client
