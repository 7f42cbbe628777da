// A latency histogram with logarithmic buckets (HDR-like): 64 linear
// sub-buckets per power of two, so a reported percentile is within 1/64
// (about 1.6 %) of the true value, at a fixed 32 KiB whatever the range.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

namespace corochat::bench {

class Histogram {
 public:
  void record(std::uint64_t value) {
    ++counts_[index_of(value)];
    ++total_;
    max_ = std::max(max_, value);
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }

  // The smallest recorded bucket's upper bound at or below which `percent` of
  // the values lie (never above the true maximum); 0 when empty.
  std::uint64_t percentile(double percent) const {
    if (total_ == 0) return 0;
    const auto wanted = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(total_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= wanted) return std::min(highest_in(i), max_);
    }
    return max_;
  }

  // The bucket of a value, and the largest value sharing it (for tests).
  static std::size_t index_of(std::uint64_t value) {
    if (value < 2 * sub_buckets) return static_cast<std::size_t>(value);
    const int shift = std::bit_width(value) - sub_bits - 1;
    return static_cast<std::size_t>(shift) * sub_buckets + static_cast<std::size_t>(value >> shift);
  }
  static std::uint64_t highest_in(std::size_t index) {
    if (index < 2 * sub_buckets) return index;
    const std::size_t shift = index / sub_buckets - 1;
    const std::uint64_t mantissa = index % sub_buckets + sub_buckets;
    return ((mantissa + 1) << shift) - 1;
  }

 private:
  static constexpr int sub_bits = 6;
  static constexpr std::size_t sub_buckets = std::size_t{1} << sub_bits;
  std::array<std::uint64_t, (64 - sub_bits + 1) * sub_buckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace corochat::bench
