// Nick and room names: which are valid, and how nicks compare.
#pragma once

#include <string>
#include <string_view>

namespace corochat::protocol {

inline constexpr std::size_t max_nick_bytes = 32;
inline constexpr std::size_t max_room_bytes = 64;
inline constexpr std::size_t max_id_bytes = 64;

// 1-32 bytes of A-Z a-z 0-9 _ - . not starting with '-' or '.'.
bool is_valid_nick(std::string_view nick);
// 1-64 bytes of the same set, same rule.
bool is_valid_room(std::string_view room);
// Nicks are unique case-insensitively (ASCII): the key they are indexed by.
std::string fold_nick(std::string_view nick);

}  // namespace corochat::protocol
