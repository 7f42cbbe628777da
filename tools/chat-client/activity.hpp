// What deserves the user's attention while the client sits in a corner of the
// screen all day: lines that name them (mentions), and the rooms that got
// lines since they last looked. Pure: no sockets, no terminal.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corochat::chat_client {

// True when `text` names `nick` or one of `highlights` as a whole word, ASCII
// letters compared case-insensitively. A word's edges must not touch a nick
// character (A-Z a-z 0-9 _ - .), so "@alice," and "(alice)" name alice while
// "malice" and "alice_x" do not; anything else, UTF-8 letters included, is a
// boundary. Dots right after the word followed by a boundary ("thanks
// alice.") end a sentence rather than extend the nick. Empty words never match.
bool is_mention(std::string_view text, std::string_view nick, const std::vector<std::string>& highlights);

// Unread lines per room (and per private conversation) since the user last
// switched to it.
class Activity {
 public:
  struct Unread {
    std::string name;        // the room, or "*nick*" for private messages
    std::size_t lines = 0;
    bool mention = false;
  };

  // A line arrived in `room`; nothing counts in the room being looked at.
  void count_room(const std::string& room, bool mention, std::string_view current_room);
  // A private message from `nick`: always a mention.
  void count_private(std::string_view nick);
  // The user looked at it: switched to the room, answered the nick.
  void clear_room(const std::string& room);
  void clear_private(std::string_view nick);

  // What is unread, rooms in the order given (the user's join order), then
  // private conversations in the order they started.
  std::vector<Unread> unread(const std::vector<std::string>& rooms) const;
  // "dev:3 ops:1! *bob*:1!": the prompt's activity indicator ("" when quiet).
  std::string indicator(const std::vector<std::string>& rooms) const;
  // The first entry with unread lines after `current_room` in indicator order,
  // wrapping around; nullopt when nothing is unread.
  std::optional<Unread> next(const std::vector<std::string>& rooms, std::string_view current_room) const;

 private:
  std::vector<Unread> rooms_;      // only rooms with something unread
  std::vector<Unread> privates_;   // keyed by the folded nick, shown as sent
};

}  // namespace corochat::chat_client
