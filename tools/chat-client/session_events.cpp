// Events from the server: the state they change (rooms, members, nick, last
// seq) and the lines they put on the screen, catch-up after a resume included.
#include "session.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

#include "corochat/protocol/codes.hpp"
#include "corochat/protocol/event_type.hpp"
#include "fields.hpp"

namespace corochat::chat_client {
namespace asio = boost::asio;
namespace json = boost::json;
using protocol::EventType;

void Session::handle(const client::Event& event) {
  const json::object& e = event.value;
  const EventType type = event.kind();
  if (options_.json) output_.print(event.line);

  Answer answer = take_answer(event);
  if (answer.retried) return;
  std::optional<Pending>& answered = answer.request;

  if (type == EventType::ping) {
    Pending pong;
    pong.request = client::request::of_type("pong");
    pong.tracked = false;
    enqueue(std::move(pong), true);
    return;
  }
  update_state(e, answered ? &*answered : nullptr);

  if (answered && !answered->catch_up_room.empty() && type == EventType::history) {
    show_catch_up(e, answered->catch_up_room);
  } else if (answered && answered->pages_history && answered->request && type == EventType::history) {
    show_history_page(e, *answered->request);
  } else if (type == EventType::error) {
    if (answered && answered->from_input) had_error_ = true;
    if (answered && !answered->catch_up_room.empty()) catch_ups_.erase(answered->catch_up_room);
    const json::object* request = answered && answered->request ? &*answered->request : nullptr;
    show(e, request);
  } else if (!(answered && answered->silent)) {
    show(e);
  }

  if (type == EventType::bye) {
    const std::optional<protocol::ByeReason> reason = protocol::parse_bye_reason(string_field(e, "reason"));
    // A piped run that a signal cut short did not send all its input: 130, as
    // shells report an interrupted command.
    if (reason == protocol::ByeReason::quit)
      finish(options_.interactive ? 0 : interrupts_ > 0 ? 130 : had_error_ ? 1 : 0);
    else if (reason == protocol::ByeReason::replaced || reason == protocol::ByeReason::auth_failed) finish(1);
    // Any other reason: the connection ends and the client reconnects.
  }
}

void Session::update_state(const json::object& e, const Pending* answered) {
  const EventType type = protocol::event_type_of(e);
  if (type == EventType::joined) {
    const std::string room(string_field(e, "room"));
    const std::string nick(string_field(e, "nick"));
    members_[room].insert(nick);
    if (!is_me(nick)) return;
    if (!contains(rooms_, room)) rooms_.push_back(room);
    joined_ts_[room] = int_field(e, "ts");
    if (current_room_.empty() || (answered && answered->make_current)) set_current(room);
    if (options_.interactive && answered && !answered->silent) {
      enqueue(bookkeeping(who_request(room)));
    }
  } else if (type == EventType::left) {
    const std::string room(string_field(e, "room"));
    const std::string nick(string_field(e, "nick"));
    if (!is_me(nick)) {
      members_[room].erase(nick);
      return;
    }
    std::erase(rooms_, room);
    members_.erase(room);
    activity_.clear_room(room);
    update_prompt();
    if (current_room_ == room) {
      set_current(rooms_.empty() ? std::string() : rooms_.front());
      if (!current_room_.empty() && !options_.json && options_.interactive)
        output_.print(notice("now talking in " + sanitize(current_room_), display_context()));
    }
  } else if (type == EventType::nick) {
    const std::string old_nick(string_field(e, "old"));
    const std::string new_nick(string_field(e, "new"));
    if (is_me(old_nick)) nick_ = new_nick;
    for (auto& [room, members] : members_)
      if (members.erase(old_nick) > 0) members.insert(new_nick);
  } else if (type == EventType::who) {
    if (!e.contains("room")) return;
    auto& members = members_[std::string(string_field(e, "room"))];
    members.clear();
    if (const json::value* list = e.if_contains("members"); list && list->is_array())
      for (const auto& m : list->get_array())
        if (m.is_string()) members.emplace(m.get_string());
  } else if (type == EventType::message) {
    const std::string room(string_field(e, "room"));
    const auto seq = static_cast<std::uint64_t>(int_field(e, "seq"));
    auto& last = last_seq_[room];
    last = std::max(last, seq);
    if (auto catch_up = catch_ups_.find(room); catch_up != catch_ups_.end()) catch_up->second.note_live(seq);
  }
}

void Session::show_catch_up(const json::object& history, const std::string& room) {
  const auto found = catch_ups_.find(room);
  if (found == catch_ups_.end()) return;
  RoomCatchUp& catch_up = found->second;
  const RoomCatchUp::Page page = catch_up.take_reply(history);
  if (!options_.json && page.first)
    output_.print(notice("missed in " + sanitize(room) + " while disconnected:", display_context()));
  if (!options_.json && page.no_longer_kept > 0)
    output_.print(notice("(" + std::to_string(page.no_longer_kept) + " older messages are no longer kept)",
                         display_context()));
  for (const json::object* message : page.missed) {
    // A request that was in flight when the link dropped and did arrive: not sent twice.
    if (is_me(string_field(*message, "from"))) {
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (!it->resent || !it->request || string_field(*it->request, "type") != "say") continue;
        if (string_field(*it->request, "room") == room &&
            string_field(*it->request, "text") == string_field(*message, "text")) {
          queue_.erase(it);
          break;
        }
      }
    }
    if (options_.json) output_.print(json::serialize(*message));
    else show(*message);
    auto& last = last_seq_[room];
    last = std::max(last, static_cast<std::uint64_t>(int_field(*message, "seq")));
  }
  if (!options_.json && page.skipped > 0)
    output_.print(notice(std::to_string(page.skipped) + " more missed in " + sanitize(room) +
                             " not shown (/history shows the latest)",
                         display_context()));
  if (page.done) {
    catch_ups_.erase(found);
    return;
  }
  // The next page goes before anything else queued, a resent request included.
  Pending next = bookkeeping(catch_up.next_request());
  next.catch_up_room = room;
  enqueue(std::move(next), true);
}

void Session::show_history_page(const json::object& history, const json::object& request) {
  if (!history_pager_.take_reply(request, history)) return show(history);
  if (!options_.json)
    output_.print(notice("no older messages in " + sanitize(string_field(request, "room")), display_context()));
}

}  // namespace corochat::chat_client
