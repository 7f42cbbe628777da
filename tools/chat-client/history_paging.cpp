#include "history_paging.hpp"

#include <algorithm>

#include <boost/json/array.hpp>

#include "corochat/client.hpp"
#include "fields.hpp"

namespace corochat::chat_client {
namespace json = boost::json;

namespace {

const json::array* messages_of(const json::object& history) {
  const json::value* messages = history.if_contains("messages");
  return messages && messages->is_array() ? &messages->get_array() : nullptr;
}

std::uint64_t seq_of(const json::object& message) { return static_cast<std::uint64_t>(int_field(message, "seq")); }

}  // namespace

json::object history_after(const std::string& room, std::uint64_t after, std::int64_t limit,
                           std::optional<std::uint64_t> before) {
  json::object r = client::request::of_type("history");
  r["room"] = room;
  r["after"] = after;
  r["limit"] = limit;
  if (before) r["before"] = *before;
  return r;
}

RoomCatchUp::RoomCatchUp(std::string room, std::optional<std::uint64_t> last_seen, std::int64_t joined_ts,
                         std::int64_t limit, std::size_t cap)
    : room_(std::move(room)),
      after_(last_seen),
      joined_ts_(joined_ts),
      limit_(std::max<std::int64_t>(1, limit)),
      cap_(std::max<std::size_t>(1, cap)) {}

json::object RoomCatchUp::next_request() const {
  const std::optional<std::uint64_t> before = first_live_ ? std::optional(first_live_) : std::nullopt;
  if (counting_skipped_ || !after_) {
    // The newest message (before what came live): how far the room has gone.
    json::object r = client::request::of_type("history");
    r["room"] = room_;
    r["limit"] = counting_skipped_ ? 1 : limit_;
    if (before) r["before"] = *before;
    return r;
  }
  const auto left = static_cast<std::int64_t>(cap_ - shown_);
  return history_after(room_, *after_, std::min(limit_, left), before);
}

void RoomCatchUp::note_live(std::uint64_t seq) {
  if (first_live_ == 0) first_live_ = seq;
}

RoomCatchUp::Page RoomCatchUp::take_reply(const json::object& history) {
  Page page;
  const json::array* messages = messages_of(history);
  if (counting_skipped_) {
    page.done = true;
    if (messages && !messages->empty() && messages->back().is_object()) {
      const std::uint64_t newest = seq_of(messages->back().get_object());
      if (newest > *after_) page.skipped = newest - *after_;
    }
    return page;
  }
  page.first = shown_ == 0;
  if (!messages) {
    page.done = true;
    return page;
  }
  for (const auto& m : *messages) {
    if (!m.is_object()) continue;
    const json::object& message = m.get_object();
    const std::uint64_t seq = seq_of(message);
    if (first_live_ != 0 && seq >= first_live_) continue;  // on the screen already
    if (after_) {
      if (seq <= *after_) continue;
      if (page.missed.empty() && seq > *after_ + 1) page.no_longer_kept = seq - *after_ - 1;
      after_ = seq;
    } else if (int_field(message, "ts") < joined_ts_) {
      continue;  // said before the room was joined
    }
    page.missed.push_back(&message);
  }
  shown_ += page.missed.size();
  page.first = page.first && !page.missed.empty();
  if (!after_ || page.missed.empty()) {
    page.done = true;
  } else if (first_live_ != 0 && *after_ + 1 >= first_live_) {
    page.done = true;  // caught up with what came live
  } else if (shown_ >= cap_) {
    counting_skipped_ = true;
  }
  return page;
}

void HistoryPager::prepare(json::object& request) {
  const std::string room(string_field(request, "room"));
  if (room == room_ && oldest_) {
    request["before"] = *oldest_;
    return;
  }
  request.erase("before");
  room_ = room;
  oldest_.reset();
}

bool HistoryPager::take_reply(const json::object& request, const json::object& history) {
  if (room_.empty() || string_field(request, "room") != room_) return false;  // the room was switched meanwhile
  bool any = false;
  if (const json::array* messages = messages_of(history)) {
    for (const auto& m : *messages) {
      if (!m.is_object()) continue;
      const std::uint64_t seq = seq_of(m.get_object());
      oldest_ = oldest_ ? std::min(*oldest_, seq) : seq;
      any = true;
    }
  }
  return !any && request.contains("before");
}

void HistoryPager::reset() {
  room_.clear();
  oldest_.reset();
}

}  // namespace corochat::chat_client
