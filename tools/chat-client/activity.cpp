#include "activity.hpp"

#include <algorithm>

#include "corochat/protocol/names.hpp"

namespace corochat::chat_client {
namespace {

bool is_nick_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

char fold(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_folded(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return fold(x) == fold(y); });
}

// The word ends at `end` of `text`: a non-nick character or the end follows,
// possibly after a run of dots that close a sentence.
bool ends_word(std::string_view text, std::size_t end) {
  while (end < text.size() && text[end] == '.') ++end;
  return end == text.size() || !is_nick_char(text[end]);
}

bool names_word(std::string_view text, std::string_view word) {
  if (word.empty() || word.size() > text.size()) return false;
  for (std::size_t at = 0; at + word.size() <= text.size(); ++at) {
    if (at > 0 && is_nick_char(text[at - 1])) continue;
    if (!equal_folded(text.substr(at, word.size()), word)) continue;
    // A word that itself ends in a dot ("alice.") has its dot matched already.
    if (ends_word(text, at + word.size())) return true;
  }
  return false;
}

std::vector<Activity::Unread>::iterator find_named(std::vector<Activity::Unread>& list, std::string_view name) {
  return std::find_if(list.begin(), list.end(), [&](const Activity::Unread& u) { return u.name == name; });
}

std::string private_name(std::string_view nick) { return "*" + std::string(nick) + "*"; }

std::vector<Activity::Unread>::iterator find_private(std::vector<Activity::Unread>& list, std::string_view nick) {
  const std::string folded = protocol::fold_nick(nick);
  return std::find_if(list.begin(), list.end(), [&](const Activity::Unread& u) {
    return protocol::fold_nick(std::string_view(u.name).substr(1, u.name.size() - 2)) == folded;
  });
}

}  // namespace

bool is_mention(std::string_view text, std::string_view nick, const std::vector<std::string>& highlights) {
  if (names_word(text, nick)) return true;
  return std::any_of(highlights.begin(), highlights.end(), [&](const std::string& w) { return names_word(text, w); });
}

void Activity::count_room(const std::string& room, bool mention, std::string_view current_room) {
  if (room == current_room) return;
  auto it = find_named(rooms_, room);
  if (it == rooms_.end()) it = rooms_.insert(rooms_.end(), Unread{room});
  ++it->lines;
  it->mention = it->mention || mention;
}

void Activity::count_private(std::string_view nick) {
  auto it = find_private(privates_, nick);
  if (it == privates_.end()) it = privates_.insert(privates_.end(), Unread{private_name(nick)});
  else it->name = private_name(nick);  // as last spelled
  ++it->lines;
  it->mention = true;
}

void Activity::clear_room(const std::string& room) {
  if (auto it = find_named(rooms_, room); it != rooms_.end()) rooms_.erase(it);
}

void Activity::clear_private(std::string_view nick) {
  if (auto it = find_private(privates_, nick); it != privates_.end()) privates_.erase(it);
}

std::vector<Activity::Unread> Activity::unread(const std::vector<std::string>& rooms) const {
  std::vector<Unread> out;
  for (const auto& room : rooms)
    for (const auto& u : rooms_)
      if (u.name == room) out.push_back(u);
  out.insert(out.end(), privates_.begin(), privates_.end());
  return out;
}

std::string Activity::indicator(const std::vector<std::string>& rooms) const {
  std::string out;
  for (const auto& u : unread(rooms)) {
    if (!out.empty()) out += ' ';
    out += u.name + ":" + std::to_string(u.lines);
    if (u.mention) out += '!';
  }
  return out;
}

std::optional<Activity::Unread> Activity::next(const std::vector<std::string>& rooms,
                                               std::string_view current_room) const {
  const std::vector<Unread> list = unread(rooms);
  if (list.empty()) return std::nullopt;
  // Entries after the current room's place in the join order come first.
  const auto place = std::find(rooms.begin(), rooms.end(), current_room);
  if (place != rooms.end()) {
    const auto position = static_cast<std::size_t>(place - rooms.begin());
    for (const auto& u : list) {
      const auto at = std::find(rooms.begin(), rooms.end(), u.name);
      if (at == rooms.end() || static_cast<std::size_t>(at - rooms.begin()) > position) return u;
    }
  }
  return list.front();
}

}  // namespace corochat::chat_client
