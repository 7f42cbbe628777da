// What the user types or pastes, turned into requests or done locally.
#include "session.hpp"

#include "command.hpp"
#include "corochat/protocol/names.hpp"
#include "fields.hpp"

namespace corochat::chat_client {
namespace asio = boost::asio;
namespace json = boost::json;

void Session::input_line(std::string line) {
  if (quitting_ || finished_) return;
  if (!options_.interactive) {
    // Parsed when its turn comes, so it goes to the room current by then.
    Pending item;
    item.raw = std::move(line);
    enqueue(std::move(item));
    return;
  }
  InputContext context{current_room_, rooms_};
  Command command = parse_line(line, context);
  if (!command.ok()) return local_problem(command.error);
  do_local(command);
  if (!command.request) return;
  if (string_field(*command.request, "type") == "msg") {
    activity_.clear_private(string_field(*command.request, "to"));  // answering is reading
    update_prompt();
  }
  Pending item;
  item.make_current = string_field(*command.request, "type") == "join";
  item.pages_history = string_field(*command.request, "type") == "history";
  quitting_ = string_field(*command.request, "type") == "quit";
  item.request = std::move(command.request);
  enqueue(std::move(item));
}

bool Session::convert_raw(Pending& item) {
  InputContext context{current_room_, rooms_};
  Command command = parse_line(item.raw, context);
  if (!command.ok()) {
    had_error_ = true;
    local_problem(command.error + ": " + sanitize(item.raw));
    return false;
  }
  do_local(command);
  if (!command.request) return false;
  item.make_current = string_field(*command.request, "type") == "join";
  item.pages_history = string_field(*command.request, "type") == "history";
  item.request = std::move(command.request);
  item.raw.clear();
  return true;
}

void Session::do_local(const Command& command) {
  const DisplayContext context = display_context();
  auto say = [&](const std::string& text) {
    if (options_.interactive) output_.print(notice(text, context));
  };
  switch (command.action) {
    case LocalAction::none:
      return;
    case LocalAction::help:
      return output_.print(std::string(help_text()));
    case LocalAction::switch_room:
      set_current(command.argument);
      return say("now talking in " + command.argument);
    case LocalAction::next_active: {
      const auto next = activity_.next(rooms_, current_room_);
      if (!next) return say("no unread lines");
      if (!next->name.starts_with("*")) {
        set_current(next->name);
        return say("now talking in " + next->name);
      }
      // A private conversation has no place to switch to: its lines are above.
      const std::string nick = next->name.substr(1, next->name.size() - 2);
      activity_.clear_private(nick);
      update_prompt();
      return say(std::to_string(next->lines) + " private message" + (next->lines == 1 ? "" : "s") + " from " +
                 nick + " above; /msg " + nick + " TEXT answers");
    }
    case LocalAction::ignore:
      if (is_me(command.argument)) return local_problem("you cannot ignore yourself");
      ignored_.insert(protocol::fold_nick(command.argument));
      activity_.clear_private(command.argument);
      update_prompt();
      return say("ignoring " + command.argument + " (/unignore " + command.argument + " to undo)");
    case LocalAction::unignore:
      if (ignored_.erase(protocol::fold_nick(command.argument)) == 0)
        return local_problem(command.argument + " is not ignored");
      return say("no longer ignoring " + command.argument);
    case LocalAction::list_ignored: {
      if (ignored_.empty()) return say("ignoring nobody");
      std::string list;
      for (const auto& nick : ignored_) list += (list.empty() ? "" : ", ") + nick;
      return say("ignoring " + list);
    }
  }
}

bool Session::offer_paste(std::size_t lines) {
  if (current_room_.empty()) {
    local_problem("no current room: a paste of " + std::to_string(lines) + " lines is not sent");
    return false;
  }
  output_.print(notice("send " + std::to_string(lines) + " lines to " + sanitize(current_room_) + "? [y/N]",
                       display_context()));
  return true;
}

void Session::send_paste(const std::vector<std::string>& lines) {
  if (quitting_ || finished_ || current_room_.empty()) return;
  for (const auto& line : lines) {
    Pending item;
    item.request = client::request::say(current_room_, line);
    enqueue(std::move(item));
  }
}

void Session::drop_paste(std::size_t lines) {
  output_.print(notice("not sent: " + std::to_string(lines) + " pasted lines", display_context()));
}

void Session::input_end() {
  if (input_ended_) return;
  input_ended_ = true;
  if (quitting_ || finished_) return;
  // Sent after every line before it has been answered: the run ends when the
  // server has echoed everything.
  quitting_ = true;
  Pending quit;
  quit.request = client::request::of_type("quit");
  quit.from_input = false;
  enqueue(std::move(quit));
}

void Session::interrupt() {
  if (finished_) return;
  if (++interrupts_ > 1 || !client_ || lost_ || !client_->is_open()) return finish(options_.interactive ? 0 : 130);
  quitting_ = true;
  Pending quit;
  quit.request = client::request::of_type("quit");
  quit.from_input = false;
  quit.tracked = false;  // not behind a request still waiting for its answer
  enqueue(std::move(quit), true);
}

}  // namespace corochat::chat_client
