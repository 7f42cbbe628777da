// Paging through a room's history: forward from the last seq seen, to catch
// up after a reconnect, and back from the oldest message shown, for repeated
// /history. Pure: requests and replies are JSON objects, no sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace corochat::chat_client {

// At most this many missed messages of one room are shown after a reconnect;
// the rest are counted and left to /history.
inline constexpr std::size_t catch_up_cap = 1000;

// A `history` request for `room`: up to `limit` messages with a seq greater
// than `after` (oldest first) and, when given, smaller than `before`.
boost::json::object history_after(const std::string& room, std::uint64_t after, std::int64_t limit,
                                  std::optional<std::uint64_t> before = std::nullopt);

// Catching up on one room after a reconnect to the same epoch. With a last
// seen seq, pages of `history` with `after` follow one another until a page
// comes back empty, reaches the first message that arrived live, or the cap
// is reached (then one more request, for the newest seq, counts what was
// skipped). Without one (nothing seen in the room), a single page of the
// latest messages is filtered by the time the room was joined.
class RoomCatchUp {
 public:
  RoomCatchUp(std::string room, std::optional<std::uint64_t> last_seen, std::int64_t joined_ts, std::int64_t limit,
              std::size_t cap = catch_up_cap);

  const std::string& room() const { return room_; }
  // The request for the next page, or for the newest seq once the cap is reached.
  boost::json::object next_request() const;
  bool counting_skipped() const { return counting_skipped_; }
  // A message of the room that arrived live since the reconnect: it and what
  // follows are on the screen already. Only the first one counts.
  void note_live(std::uint64_t seq);

  struct Page {
    std::vector<const boost::json::object*> missed;  // to show, in order (they point into the reply)
    std::uint64_t no_longer_kept = 0;  // messages between the last seen and the first missed, gone from the server
    bool first = false;                // the first page with something to show: the heading goes before it
    bool done = false;                 // nothing more to ask for this room
    std::uint64_t skipped = 0;         // the cap was reached: how many missed messages are not shown
  };
  // The reply to next_request().
  Page take_reply(const boost::json::object& history);

 private:
  std::string room_;
  std::optional<std::uint64_t> after_;  // the last seq seen or shown
  std::int64_t joined_ts_;
  std::int64_t limit_;
  std::size_t cap_;
  std::size_t shown_ = 0;
  std::uint64_t first_live_ = 0;  // 0: none yet
  bool counting_skipped_ = false;
};

// /history in the current room: the first use asks for the latest messages;
// a repeat in the same room (no room switch since) asks for those before the
// oldest one shown so far.
class HistoryPager {
 public:
  // Adds `before` to a /history request about to be sent, when it pages back.
  void prepare(boost::json::object& request);
  // The reply to a prepared request: true when it paged back and found
  // nothing older.
  bool take_reply(const boost::json::object& request, const boost::json::object& history);
  // The current room changed (or seqs started over): the next /history starts anew.
  void reset();

 private:
  std::string room_;
  std::optional<std::uint64_t> oldest_;
};

}  // namespace corochat::chat_client
