// How server lines look on the screen. Pure: the clock and the colour choice
// are passed in, so tests see exactly what a user would.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>
#include <string_view>

#include <boost/json/object.hpp>

namespace corochat::chat_client {

// Makes text from the network safe to print: C0 controls (ESC included), DEL
// and C1 controls (U+0080-U+009F) become visible escapes (^[, ^?, \u009b), as
// do bidirectional overrides and line separators; bytes that are not valid
// UTF-8 become \xNN. Printable UTF-8 is kept as is.
std::string sanitize(std::string_view text);

// Where the cursor stands once the line editor has drawn `text` from the
// start of a row `width` columns wide (0: one unbounded row). Widths come from
// wcwidth in the current LC_CTYPE locale: two columns for CJK and most emoji,
// none for combining marks. Laid out as libedit draws: a wide character that
// does not fit at the end of a row starts the next one, a full row wraps at
// once, control characters take two columns (^A), tabs reach the next multiple
// of 8, and a byte that is not UTF-8 takes one (the terminal's replacement).
struct CursorPlace {
  std::size_t row = 0;
  std::size_t column = 0;
};
CursorPlace cursor_after(std::string_view text, std::size_t width);

// Screen columns `text` takes on one row.
inline std::size_t display_columns(std::string_view text) { return cursor_after(text, 0).column; }

// "HH:MM" in the local time zone for a server timestamp (ms since the epoch).
std::string local_time(std::int64_t ts_ms);

struct DisplayContext {
  std::string own_nick;
  bool colour = false;
  std::function<std::string(std::int64_t)> clock = local_time;
  std::vector<std::string> highlights;  // words that make a line a mention, besides the own nick
  std::set<std::string> ignored;        // folded nicks whose lines are not shown
};

// Whether `event` is a line by or about an ignored nick: a message or
// private message from it, its join, part or nick change.
bool is_ignored(const boost::json::object& event, const DisplayContext& context);

// Whether `event` is someone else's message naming the user (or one of the
// highlight words), or someone else's private message.
bool is_mention_event(const boost::json::object& event, const DisplayContext& context);

// The text to show for one server line (several lines joined by '\n'), or ""
// when there is nothing to show (ping, pong, an ignored nick's line). A
// mention is set off in bold reverse when colours are on; a message with
// "action": true reads "* nick text". `request` is the request the
// line answers, when known: errors name what they are about.
std::string format_event(const boost::json::object& event, const DisplayContext& context,
                         const boost::json::object* request = nullptr);

// An `error` in plain words, for every code of the protocol.
std::string describe_error(std::string_view code, std::string_view server_message,
                           const boost::json::object* request = nullptr);

// A notice from the client itself (connection state, command mistakes).
std::string notice(std::string_view text, const DisplayContext& context);
std::string problem(std::string_view text, const DisplayContext& context);

}  // namespace corochat::chat_client
