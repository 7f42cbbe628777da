// Reading the fields of events and requests: absent or of the wrong JSON
// type reads as empty (or the fallback), as a client must take what comes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace corochat::chat_client {

inline std::string_view string_field(const boost::json::object& o, std::string_view key) {
  if (const boost::json::value* v = o.if_contains(key); v && v->is_string()) return v->get_string();
  return {};
}

inline std::int64_t int_field(const boost::json::object& o, std::string_view key, std::int64_t fallback = 0) {
  if (const boost::json::value* v = o.if_contains(key)) {
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  }
  return fallback;
}

inline bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace corochat::chat_client
