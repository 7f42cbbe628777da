// CPU time and memory of a process, from /proc, and of this process, from
// getrusage. The parsers are pure so they are tested on fixed text.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace corochat::bench {

// utime + stime (fields 14 and 15 of /proc/PID/stat) in clock ticks.
std::optional<std::uint64_t> parse_stat_cpu_ticks(std::string_view stat);
// VmRSS of /proc/PID/status, in KiB.
std::optional<std::uint64_t> parse_status_rss_kb(std::string_view status);

struct ProcessSample {
  double cpu_s = 0;
  std::uint64_t rss_kb = 0;
};
// The process's CPU seconds and RSS now; nothing if it cannot be read.
std::optional<ProcessSample> sample_process(int pid);

// This process's user + system CPU seconds so far.
double own_cpu_seconds();

}  // namespace corochat::bench
