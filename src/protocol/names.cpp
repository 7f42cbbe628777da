#include "corochat/protocol/names.hpp"

namespace corochat::protocol {
namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

bool is_valid_name(std::string_view name, std::size_t max_bytes) {
  if (name.empty() || name.size() > max_bytes) return false;
  if (name.front() == '-' || name.front() == '.') return false;
  for (char c : name)
    if (!is_name_char(c)) return false;
  return true;
}

}  // namespace

bool is_valid_nick(std::string_view nick) { return is_valid_name(nick, max_nick_bytes); }
bool is_valid_room(std::string_view room) { return is_valid_name(room, max_room_bytes); }

std::string fold_nick(std::string_view nick) {
  std::string folded(nick);
  for (char& c : folded)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return folded;
}

}  // namespace corochat::protocol
