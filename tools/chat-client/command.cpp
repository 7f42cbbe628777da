#include "command.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "corochat/client.hpp"
#include "corochat/protocol/names.hpp"

namespace corochat::chat_client {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 14> command_names = {
    "/help", "/history", "/ignore", "/join", "/me",     "/msg",      "/next",
    "/nick", "/part",    "/quit",   "/rooms", "/switch", "/unignore", "/who"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Splits off the first word; `rest` keeps what follows, leading blanks removed.
std::string_view first_word(std::string_view s, std::string_view& rest) {
  s = trim(s);
  const std::size_t end = s.find_first_of(" \t");
  std::string_view word = s.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : trim(s.substr(end));
  return word;
}

Command failure(std::string message) {
  Command c;
  c.error = std::move(message);
  return c;
}

Command sending(json::object request) {
  Command c;
  c.request = std::move(request);
  return c;
}

bool is_member(const InputContext& context, std::string_view room) {
  return std::find(context.rooms.begin(), context.rooms.end(), room) != context.rooms.end();
}

Command say(std::string_view text, const InputContext& context) {
  if (context.current_room.empty()) return failure("no current room: /join a room first");
  return sending(client::request::say(context.current_room, text));
}

Command local(LocalAction action, std::string argument = {}) {
  Command c;
  c.action = action;
  c.argument = std::move(argument);
  return c;
}

// "/1" to "/9": the room at that place in join order.
std::optional<std::size_t> room_position(std::string_view name) {
  if (name.size() != 2 || name[1] < '1' || name[1] > '9') return std::nullopt;
  return static_cast<std::size_t>(name[1] - '0');
}

// The room named by `arg`, or the current room when `arg` is empty.
std::optional<std::string> room_or_current(std::string_view arg, const InputContext& context,
                                           std::string& error) {
  if (arg.empty()) {
    if (context.current_room.empty()) {
      error = "no current room: name one";
      return std::nullopt;
    }
    return context.current_room;
  }
  if (!protocol::is_valid_room(arg)) {
    error = "bad room name \"" + std::string(arg) +
            "\": 1-64 of A-Z a-z 0-9 _ - ., not starting with - or .";
    return std::nullopt;
  }
  return std::string(arg);
}

}  // namespace

Command parse_line(std::string_view line, const InputContext& context) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (trim(line).empty()) return {};
  if (line.starts_with("//")) return say(line.substr(1), context);
  if (!line.starts_with("/")) return say(line, context);

  std::string_view rest;
  const std::string_view name = first_word(line, rest);
  std::string error;

  if (name == "/help") {
    Command c;
    c.action = LocalAction::help;
    return c;
  }
  if (name == "/join") {
    std::string_view extra;
    const std::string_view room = first_word(rest, extra);
    if (room.empty() || !extra.empty()) return failure("usage: /join ROOM");
    auto r = room_or_current(room, context, error);
    if (!r) return failure(error);
    return sending(client::request::join(*r));
  }
  if (name == "/part") {
    std::string_view extra;
    const std::string_view room = first_word(rest, extra);
    if (!extra.empty()) return failure("usage: /part [ROOM]");
    auto r = room_or_current(room, context, error);
    if (!r) return failure(error);
    return sending(client::request::part(*r));
  }
  if (name == "/switch") {
    std::string_view extra;
    const std::string_view room = first_word(rest, extra);
    if (room.empty() || !extra.empty()) return failure("usage: /switch ROOM");
    if (!is_member(context, room)) return failure("not in " + std::string(room) + ": /join it first");
    Command c;
    c.action = LocalAction::switch_room;
    c.argument = room;
    return c;
  }
  if (auto position = room_position(name)) {
    if (!rest.empty()) return failure("usage: " + std::string(name) + " (no arguments)");
    if (*position > context.rooms.size())
      return failure("no room " + std::to_string(*position) + ": you are in " + std::to_string(context.rooms.size()));
    return local(LocalAction::switch_room, context.rooms[*position - 1]);
  }
  if (name == "/next") {
    if (!rest.empty()) return failure("usage: /next");
    return local(LocalAction::next_active);
  }
  if (name == "/me") {
    if (rest.empty()) return failure("usage: /me TEXT");
    Command c = say(rest, context);
    if (c.request) (*c.request)["action"] = true;
    return c;
  }
  if (name == "/ignore" || name == "/unignore") {
    std::string_view extra;
    const std::string_view nick = first_word(rest, extra);
    if (!extra.empty() || (nick.empty() && name == "/unignore")) return failure("usage: " + std::string(name) + " NICK");
    if (nick.empty()) return local(LocalAction::list_ignored);
    if (!protocol::is_valid_nick(nick)) return failure("bad nick \"" + std::string(nick) + "\"");
    return local(name == "/ignore" ? LocalAction::ignore : LocalAction::unignore, std::string(nick));
  }
  if (name == "/msg") {
    std::string_view text;
    const std::string_view nick = first_word(rest, text);
    if (nick.empty() || text.empty()) return failure("usage: /msg NICK TEXT");
    if (!protocol::is_valid_nick(nick)) return failure("bad nick \"" + std::string(nick) + "\"");
    return sending(client::request::msg(nick, text));
  }
  if (name == "/nick") {
    std::string_view extra;
    const std::string_view nick = first_word(rest, extra);
    if (nick.empty() || !extra.empty()) return failure("usage: /nick NICK");
    if (!protocol::is_valid_nick(nick))
      return failure("bad nick \"" + std::string(nick) +
                     "\": 1-32 of A-Z a-z 0-9 _ - ., not starting with - or .");
    auto r = client::request::of_type("nick");
    r["nick"] = nick;
    return sending(std::move(r));
  }
  if (name == "/who") {
    std::string_view extra;
    const std::string_view room = first_word(rest, extra);
    if (!extra.empty()) return failure("usage: /who [ROOM]");
    auto r = client::request::of_type("who");
    if (room == "*") return sending(std::move(r));  // every nick on the server
    if (room.empty() && context.current_room.empty()) return sending(std::move(r));
    auto target = room_or_current(room, context, error);
    if (!target) return failure(error);
    r["room"] = *target;
    return sending(std::move(r));
  }
  if (name == "/rooms") {
    if (!rest.empty()) return failure("usage: /rooms");
    return sending(client::request::of_type("rooms"));
  }
  if (name == "/history") {
    std::string_view extra;
    const std::string_view count = first_word(rest, extra);
    if (!extra.empty()) return failure("usage: /history [N]");
    std::int64_t limit = 20;
    if (!count.empty()) {
      auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), limit);
      if (ec != std::errc{} || end != count.data() + count.size() || limit <= 0)
        return failure("usage: /history [N], N a positive number");
    }
    if (context.current_room.empty()) return failure("no current room: /join a room first");
    auto r = client::request::of_type("history");
    r["room"] = context.current_room;
    r["limit"] = limit;
    return sending(std::move(r));
  }
  if (name == "/quit") {
    auto r = client::request::of_type("quit");
    if (!rest.empty()) r["reason"] = rest;
    return sending(std::move(r));
  }
  return failure("unknown command " + std::string(name) + " (try /help)");
}

std::string_view help_text() {
  return "Commands:\n"
         "  TEXT              say TEXT in the current room (//TEXT sends /TEXT)\n"
         "  /join ROOM        join ROOM and make it the current room\n"
         "  /part [ROOM]      leave ROOM (default: the current room)\n"
         "  /switch ROOM      make ROOM (one you are in) the current room\n"
         "  /1 ... /9         switch to the room at that place in the order you joined them\n"
         "  /next             switch to the next room with unread lines\n"
         "  /me TEXT          say TEXT as an action (* you TEXT)\n"
         "  /msg NICK TEXT    send a private message\n"
         "  /nick NICK        change your nick\n"
         "  /ignore [NICK]    hide NICK's messages and comings and goings; alone, list who is ignored\n"
         "  /unignore NICK    show NICK's lines again\n"
         "  /who [ROOM]       list the members of ROOM (default: the current room; * for everyone)\n"
         "  /rooms            list the rooms with members\n"
         "  /history [N]      show the last N messages of the current room (default 20);\n"
         "                    again, without switching rooms: the N before those\n"
         "  /quit [REASON]    leave the server\n"
         "  /help             this list\n"
         "The prompt lists the other rooms with unread lines, ! where one names you: [lobby] dev:3 ops:1!\n"
         "A paste of more than five lines is sent only after you answer y.\n"
         "Keys: Tab completes commands and nicks; Up/Down browse your input history; Ctrl-D quits.";
}

std::vector<std::string> complete(std::string_view word, bool at_line_start, const std::vector<std::string>& nicks) {
  std::vector<std::string> out;
  if (at_line_start && word.starts_with("/")) {
    for (auto name : command_names)
      if (name.starts_with(word)) out.emplace_back(name);
    return out;
  }
  const std::string folded = protocol::fold_nick(word);
  for (const auto& nick : nicks)
    if (protocol::fold_nick(nick).starts_with(folded)) out.push_back(nick);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool is_paste(std::string_view bytes) {
  std::size_t lines = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\n' && i > 0 && bytes[i - 1] == '\r') continue;  // one end, two bytes
    if (bytes[i] == '\r' || bytes[i] == '\n') ++lines;
  }
  const bool unended = !bytes.empty() && bytes.back() != '\r' && bytes.back() != '\n';
  return lines > 0 && lines + (unended ? 1 : 0) >= paste_min_lines;
}

std::vector<std::string> paste_lines(std::string_view bytes) {
  std::vector<std::string> lines;
  std::string line;
  for (char c : bytes) {
    if (c == '\r' || c == '\n') {
      if (!line.empty()) lines.push_back(std::move(line));
      line.clear();
    } else {
      line.push_back(c);
    }
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

std::string nick_from_login(std::string_view login) {
  std::string nick;
  for (char c : login) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    nick.push_back(ok ? c : '_');
  }
  while (!nick.empty() && (nick.front() == '-' || nick.front() == '.')) nick.erase(nick.begin());
  if (nick.size() > protocol::max_nick_bytes) nick.resize(protocol::max_nick_bytes);
  if (nick.empty()) nick = "user";
  return nick;
}

}  // namespace corochat::chat_client
