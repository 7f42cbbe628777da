// A connection's outgoing lines, without its socket: bounded in bytes, taken
// out in gathered writes, and freed when empty. The broadcaster appends, the
// transport's writer drains.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <sys/uio.h>

#include <boost/asio/buffer.hpp>

#include "server/chat_state.hpp"

namespace corochat::server {

class OutgoingQueue {
 public:
  // Asio's own gathered writes stop at 64 buffers; a writer that gathers into
  // const_buffers stops there, or at this many bytes.
  static constexpr std::size_t max_gathered_lines = 64;
  static constexpr std::size_t max_gathered_bytes = 256 * 1024;

  explicit OutgoingQueue(std::size_t bound) : bound_(bound) {}

  // Appends a line; false when it would pass the bound (a slow consumer).
  // A line is never too big for an empty queue: a client is slow when its
  // queue overflows, not when one reply (a welcome with a long MOTD, a `who`
  // of a big server) is larger than the bound.
  bool push(const SharedLine& line);

  bool empty() const { return head_ == lines_.size(); }
  std::size_t bytes() const { return bytes_; }
  // The one "half the queue" rule: the broadcaster runs a connection's
  // requests, and its reader reads on, only while this holds, so that a
  // client's replies alone never make it a slow consumer. `promised` counts
  // replies already owed but not queued yet (messages the store has still to
  // commit, each echoed to its sender).
  bool at_most_half_full(std::size_t promised = 0) const { return bytes_ + promised <= bound_ / 2; }

  // Fills `out` with the unwritten lines from the front, a line sent in part
  // from where it stopped; stops when `out` is full or at least `max_bytes`
  // are taken. Returns how many entries were filled.
  std::size_t gather(std::span<iovec> out, std::size_t max_bytes = SIZE_MAX) const;
  std::size_t gather(std::span<boost::asio::const_buffer> out, std::size_t max_bytes = max_gathered_bytes) const;
  // Copies as many unwritten bytes from the front as fit into `chunk`, across
  // lines: one contiguous buffer for a stream that writes one record per
  // buffer (TLS). Returns the bytes copied.
  std::size_t copy_front(std::span<char> chunk) const;

  // Drops `written` bytes from the front; a line written in part stays, with
  // the part remembered. True when this made the queue at most half full
  // (it was more before): the paused reader and a broadcaster waiting for
  // room are then told.
  bool consume(std::size_t written);

  // Drops everything: the connection is closed.
  void release();

  std::size_t capacity() const { return lines_.capacity(); }

 private:
  template <class Buffer, class Make>
  std::size_t gather_into(std::span<Buffer> out, std::size_t max_bytes, Make make) const;

  // Lines not yet written start at head_; a vector, not a deque, so that an
  // idle connection's empty queue holds no memory.
  std::vector<SharedLine> lines_;
  std::size_t front_written_ = 0;  // bytes of the line at head_ already written
  std::size_t bytes_ = 0;          // unwritten bytes
  std::size_t bound_;
  std::uint32_t head_ = 0;
  std::uint32_t capacity_hint_ = 16;  // how large the queue grew in its last burst
};

}  // namespace corochat::server
