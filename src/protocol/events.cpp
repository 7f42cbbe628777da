#include "corochat/protocol/events.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace corochat::protocol {
namespace json = boost::json;

namespace event {

json::object welcome(const WelcomeInfo& info) {
  json::object limits;
  limits["max_line"] = info.limits.max_line;
  limits["max_text"] = info.limits.max_text;
  limits["rate"] = info.limits.rate;
  limits["burst"] = info.limits.burst;
  limits["history"] = info.limits.history;
  limits["idle"] = info.limits.idle;
  limits["max_rooms_per_client"] = info.limits.max_rooms_per_client;
  json::array rooms;
  for (const auto& room : info.rooms) rooms.emplace_back(room);

  json::object e;
  e["type"] = "welcome";
  e["nick"] = info.nick;
  e["server"] = info.server;
  e["protocol"] = version;
  e["epoch"] = info.epoch;
  e["token"] = info.token;
  e["rooms"] = std::move(rooms);
  e["limits"] = std::move(limits);
  if (!info.motd.empty()) e["motd"] = info.motd;
  return e;
}

json::object joined(std::string_view room, std::string_view nick, Timestamp ts) {
  json::object e;
  e["type"] = "joined";
  e["room"] = room;
  e["nick"] = nick;
  e["ts"] = ts;
  return e;
}

json::object left(std::string_view room, std::string_view nick, LeaveReason reason, Timestamp ts) {
  json::object e;
  e["type"] = "left";
  e["room"] = room;
  e["nick"] = nick;
  e["reason"] = to_string(reason);
  e["ts"] = ts;
  return e;
}

json::object nick(std::string_view old_nick, std::string_view new_nick, Timestamp ts) {
  json::object e;
  e["type"] = "nick";
  e["old"] = old_nick;
  e["new"] = new_nick;
  e["ts"] = ts;
  return e;
}

json::object message(std::string_view room, std::string_view from, std::string_view text, Timestamp ts,
                     std::uint64_t seq, bool action) {
  json::object e;
  e["type"] = "message";
  e["room"] = room;
  e["from"] = from;
  e["text"] = text;
  e["ts"] = ts;
  e["seq"] = seq;
  if (action) e["action"] = true;
  return e;
}

json::object private_message(std::string_view from, std::string_view to, std::string_view text,
                             Timestamp ts, bool action) {
  json::object e;
  e["type"] = "private";
  e["from"] = from;
  e["to"] = to;
  e["text"] = text;
  e["ts"] = ts;
  if (action) e["action"] = true;
  return e;
}

json::object who(const std::string* room, const std::vector<std::string>& members) {
  json::array list;
  for (const auto& m : members) list.emplace_back(m);
  json::object e;
  e["type"] = "who";
  if (room) e["room"] = *room;
  e["members"] = std::move(list);
  return e;
}

json::object rooms(const std::vector<std::pair<std::string, std::size_t>>& rooms) {
  json::array list;
  for (const auto& [name, members] : rooms) {
    json::object r;
    r["room"] = name;
    r["members"] = members;
    list.emplace_back(std::move(r));
  }
  json::object e;
  e["type"] = "rooms";
  e["rooms"] = std::move(list);
  return e;
}

json::object pong() {
  json::object e;
  e["type"] = "pong";
  return e;
}

json::object ping() {
  json::object e;
  e["type"] = "ping";
  return e;
}

json::object bye(ByeReason reason) {
  json::object e;
  e["type"] = "bye";
  e["reason"] = to_string(reason);
  return e;
}

json::object error(ErrorCode code, std::string_view message) {
  json::object e;
  e["type"] = "error";
  e["code"] = to_string(code);
  e["message"] = message;
  return e;
}

}  // namespace event

SharedLine serialize_line(const json::object& event, const RequestId& id) {
  std::string line;
  if (id) {
    json::object with_id = event;
    with_id["id"] = *id;
    line = json::serialize(with_id);
  } else {
    line = json::serialize(event);
  }
  line.push_back('\n');
  return std::make_shared<const std::string>(std::move(line));
}

SharedLine history_line(std::string_view room, std::span<const SharedLine> messages, const RequestId& id) {
  std::string line = R"({"type":"history","room":)";
  line += json::serialize(json::value(room));
  line += R"(,"messages":[)";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i) line.push_back(',');
    std::string_view m = *messages[i];
    if (!m.empty() && m.back() == '\n') m.remove_suffix(1);
    line += m;
  }
  line += ']';
  if (id) {
    line += R"(,"id":)";
    line += json::serialize(*id);
  }
  line += "}\n";
  return std::make_shared<const std::string>(std::move(line));
}

SharedLine error_line(ErrorCode code, std::string_view message, const RequestId& id) {
  return serialize_line(event::error(code, message), id);
}

}  // namespace corochat::protocol
