// What one input line means: a request for the server, a local action, or a
// mistake to report. Pure: no sockets, no terminal.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace corochat::chat_client {

// What the client knows when it reads a line.
struct InputContext {
  std::string current_room;         // empty: no current room
  std::vector<std::string> rooms;   // the rooms the user is in
};

enum class LocalAction { none, help, switch_room, next_active, ignore, unignore, list_ignored };

struct Command {
  std::optional<boost::json::object> request;  // to send (without an id)
  LocalAction action = LocalAction::none;
  std::string argument;  // the room for switch_room, the nick for ignore and unignore
  std::string error;     // non-empty: the line was not understood; nothing is sent

  bool ok() const { return error.empty(); }
};

// Translates one input line. Plain text goes to the current room; a line
// starting with "//" sends the text with one "/" removed; an empty line does
// nothing.
Command parse_line(std::string_view line, const InputContext& context);

// The help text listing every command.
std::string_view help_text();

// Completions for `word` (the word under the cursor). At the start of the line
// a word starting with "/" completes command names; otherwise nicks.
std::vector<std::string> complete(std::string_view word, bool at_line_start,
                                  const std::vector<std::string>& nicks);

// This many lines in one read of the terminal are a paste, not typing.
inline constexpr std::size_t paste_min_lines = 6;
// Whether `bytes`, what one read of the terminal brought, is a paste: more
// than five lines, split by \r, \n or \r\n (as terminals send Enter), the
// last one counting even without its end.
bool is_paste(std::string_view bytes);
// The lines of a paste, split at \r, \n or \r\n; a last line without its
// end counts too; empty lines are dropped (there is nothing to send for them).
std::vector<std::string> paste_lines(std::string_view bytes);

// A valid nick made from a login name: invalid characters become '_', at most
// 32 bytes, not starting with '-' or '.'; "user" when nothing is left.
std::string nick_from_login(std::string_view login);

}  // namespace corochat::chat_client
