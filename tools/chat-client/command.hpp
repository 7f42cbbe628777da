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

// A valid nick made from a login name: invalid characters become '_', at most
// 32 bytes, not starting with '-' or '.'; "user" when nothing is left.
std::string nick_from_login(std::string_view login);

}  // namespace corochat::chat_client
