// What one subscriber has received from each publisher: counts new,
// duplicate and late (out-of-order) messages from the per-publisher seq in
// the payload. Pure bookkeeping, no I/O.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

namespace corochat::bench {

enum class Arrival { in_order, gap, late, duplicate };

class SubscriberTracker {
 public:
  explicit SubscriberTracker(std::size_t publishers) : next_(publishers, 0), missing_(publishers) {}

  // One message `seq` from `publisher` (< publishers) arrived.
  Arrival arrived(std::uint32_t publisher, std::uint64_t seq) {
    std::uint64_t& next = next_[publisher];
    if (seq == next) {
      ++next;
      ++unique_;
      return Arrival::in_order;
    }
    if (seq > next) {
      // Remember what was skipped, so a late arrival is told from a duplicate.
      // A huge gap is not remembered in full: its late arrivals then count
      // as duplicates, which fails the run all the same.
      auto& missing = missing_[publisher];
      for (std::uint64_t s = next; s < seq && missing.size() < max_missing; ++s) missing.insert(s);
      next = seq + 1;
      ++unique_;
      return Arrival::gap;
    }
    if (missing_[publisher].erase(seq) > 0) {
      ++unique_;
      ++late_;
      return Arrival::late;
    }
    ++duplicates_;
    return Arrival::duplicate;
  }

  // Distinct messages received.
  std::uint64_t unique() const { return unique_; }
  std::uint64_t duplicates() const { return duplicates_; }
  std::uint64_t late() const { return late_; }

 private:
  static constexpr std::size_t max_missing = 1 << 20;
  std::vector<std::uint64_t> next_;
  std::vector<std::set<std::uint64_t>> missing_;
  std::uint64_t unique_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t late_ = 0;
};

}  // namespace corochat::bench
