// The counters chatd keeps for /metrics. Plain integers: chatd runs its I/O
// on one thread, and each counter is written by that thread alone, so the hot
// path pays one increment and no atomic operation.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace corochat::server::metrics {

enum class Transport : std::uint8_t { plain, tls };

// What the connections' reading and writing add up to. One per I/O thread:
// a connection adds to its own thread's, and /metrics is served on that thread.
struct Traffic {
  std::uint64_t bytes_in = 0;       // request bytes read (after TLS)
  std::uint64_t bytes_out = 0;      // event bytes written (before TLS)
  std::uint64_t queued_bytes = 0;   // in outgoing queues, not yet written
  std::array<std::uint64_t, 2> open{};  // open connections, by Transport
};

inline constinit thread_local Traffic traffic{};

// Latency of history store commits: counts per bucket (not cumulative), the
// upper bounds in seconds as Prometheus reads them.
struct LatencyHistogram {
  static constexpr std::array<double, 12> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  std::array<std::uint64_t, bounds.size() + 1> counts{};  // the last: above every bound
  double sum_seconds = 0;

  void add(std::chrono::steady_clock::duration took) {
    const double seconds = std::chrono::duration<double>(took).count();
    std::size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i]) ++i;
    ++counts[i];
    sum_seconds += seconds;
  }
  std::uint64_t count() const {
    std::uint64_t total = 0;
    for (auto c : counts) total += c;
    return total;
  }
};

// What the broadcaster counts as it goes.
struct BroadcastCounters {
  std::uint64_t deliveries = 0;      // lines queued to a connection
  std::uint64_t slow_consumers = 0;  // connections closed for an overflowing queue
  std::uint64_t rate_limited = 0;    // requests refused by the flood limit
  std::uint64_t store_commits = 0;   // appends the history store completed
  std::uint64_t store_failures = 0;  // messages the store could not keep
  LatencyHistogram commit_latency;   // from append to completion
};

}  // namespace corochat::server::metrics
