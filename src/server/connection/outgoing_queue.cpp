#include "server/connection/outgoing_queue.hpp"

#include <algorithm>
#include <cstring>

namespace corochat::server {

bool OutgoingQueue::push(const SharedLine& line) {
  if (bytes_ > 0 && bytes_ + line->size() > bound_) return false;
  bytes_ += line->size();
  if (lines_.capacity() == 0) lines_.reserve(capacity_hint_);  // one allocation, not 1, 2, 4, ...
  lines_.push_back(line);
  return true;
}

template <class Buffer, class Make>
std::size_t OutgoingQueue::gather_into(std::span<Buffer> out, std::size_t max_bytes, Make make) const {
  std::size_t count = 0;
  std::size_t taken = 0;
  for (std::size_t i = head_; i < lines_.size() && count < out.size() && taken < max_bytes; ++i, ++count) {
    const std::size_t skip = count == 0 ? front_written_ : 0;
    out[count] = make(lines_[i]->data() + skip, lines_[i]->size() - skip);
    taken += lines_[i]->size() - skip;
  }
  return count;
}

std::size_t OutgoingQueue::gather(std::span<iovec> out, std::size_t max_bytes) const {
  return gather_into(out, max_bytes,
                     [](const char* data, std::size_t size) { return iovec{const_cast<char*>(data), size}; });
}

std::size_t OutgoingQueue::gather(std::span<boost::asio::const_buffer> out, std::size_t max_bytes) const {
  return gather_into(out, max_bytes,
                     [](const char* data, std::size_t size) { return boost::asio::const_buffer(data, size); });
}

std::size_t OutgoingQueue::copy_front(std::span<char> chunk) const {
  std::size_t copied = 0;
  std::size_t skip = front_written_;
  for (std::size_t i = head_; i < lines_.size() && copied < chunk.size(); ++i, skip = 0) {
    const std::size_t n = std::min(lines_[i]->size() - skip, chunk.size() - copied);
    std::memcpy(chunk.data() + copied, lines_[i]->data() + skip, n);
    copied += n;
  }
  return copied;
}

bool OutgoingQueue::consume(std::size_t written) {
  const bool was_over_half = !at_most_half_full();
  bytes_ -= written;
  written += front_written_;
  while (head_ < lines_.size() && written >= lines_[head_]->size()) {
    written -= lines_[head_]->size();
    lines_[head_++].reset();
  }
  front_written_ = written;
  if (head_ == lines_.size()) {
    // An idle connection keeps no queue around after a burst (joins to its
    // rooms arrive in bursts too: see Delivery::presence). Not `lines_ = {}`:
    // that assigns an empty initializer list and keeps the capacity.
    capacity_hint_ = static_cast<std::uint32_t>(std::min<std::size_t>(lines_.capacity(), max_gathered_lines * 16));
    std::vector<SharedLine>().swap(lines_);
    head_ = 0;
  } else if (head_ >= lines_.size() / 2) {
    lines_.erase(lines_.begin(), lines_.begin() + head_);
    head_ = 0;
  }
  return was_over_half && at_most_half_full();
}

void OutgoingQueue::release() {
  std::vector<SharedLine>().swap(lines_);
  head_ = 0;
  front_written_ = 0;
  bytes_ = 0;
}

}  // namespace corochat::server
