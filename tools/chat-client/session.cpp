// The session's shared parts: what it shows, the prompt, the queue.
#include "session.hpp"

#include "corochat/protocol/event_type.hpp"
#include "corochat/protocol/names.hpp"
#include "fields.hpp"

namespace corochat::chat_client {
namespace asio = boost::asio;
namespace json = boost::json;
using protocol::EventType;

Session::Session(asio::io_context& io, Options options, Output& output)
    : io_(io),
      options_(std::move(options)),
      output_(output),
      wake_(io),
      backoff_timer_(io),
      backlog_timer_(io),
      nick_(options_.nick) {}

DisplayContext Session::display_context() const {
  DisplayContext c;
  c.own_nick = nick_;
  c.colour = options_.colour;
  c.highlights = options_.highlights;
  c.ignored = ignored_;
  return c;
}

bool Session::is_me(std::string_view nick) const { return protocol::fold_nick(nick) == protocol::fold_nick(nick_); }

void Session::show(const json::object& event, const json::object* request) {
  if (options_.json) return;  // --json prints the raw lines instead
  const DisplayContext context = display_context();
  std::string text = format_event(event, context, request);
  if (text.empty()) return;  // nothing to show, or an ignored nick's line
  if (protocol::event_type_of(event) == EventType::error) return output_.print_problem(text);
  output_.print(text);
  note_activity(event, context);
}

// Shown lines count where the user is not looking, and a mention rings.
void Session::note_activity(const json::object& event, const DisplayContext& context) {
  const EventType type = protocol::event_type_of(event);
  if (type != EventType::message && type != EventType::private_message) return;
  const bool mention = is_mention_event(event, context);
  if (mention && options_.bell) output_.bell();
  if (is_me(string_field(event, "from"))) return;
  if (type == EventType::private_message) activity_.count_private(string_field(event, "from"));
  else activity_.count_room(std::string(string_field(event, "room")), mention, current_room_);
  update_prompt();
}

void Session::update_prompt() { output_.set_status(current_room_, activity_.indicator(rooms_)); }

void Session::local_problem(std::string_view text) { output_.print_problem(problem(text, display_context())); }

void Session::set_current(std::string room) {
  if (room != current_room_) history_pager_.reset();  // /history starts from the latest again
  current_room_ = std::move(room);
  activity_.clear_room(current_room_);  // looked at now
  update_prompt();
}

void Session::wake_sender() { wake_.cancel(); }

void Session::enqueue(Pending item, bool front) {
  if (front) queue_.push_front(std::move(item));
  else queue_.push_back(std::move(item));
  wake_sender();
}

void Session::finish(int status) {
  finished_ = true;
  exit_status_ = status;
  if (client_) client_->close();
  wake_.cancel();
  backoff_timer_.cancel();
  backlog_timer_.cancel();
}

std::vector<std::string> Session::known_nicks() const {
  // Every room's members, so that /msg completes nicks met elsewhere too.
  std::set<std::string> all;
  for (const auto& [room, members] : members_) all.insert(members.begin(), members.end());
  return {all.begin(), all.end()};
}

}  // namespace corochat::chat_client
