// /metrics: a snapshot of chatd's counters, taken on the I/O thread and
// rendered in the Prometheus text format (0.0.4) by a pure function.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/metrics/counters.hpp"

namespace corochat::server::metrics {

// Why a connection was refused before reaching the chat: the label values
// of chatd_refused_connections_total.
enum class RefusalReason : std::uint8_t {
  too_many_connections,  // --max-per-ip
  connecting_too_fast,   // --connect-rate
  server_full,           // --max-clients
  out_of_descriptors,    // accepted with the spare descriptor, closed at once
};
inline constexpr std::size_t refusal_reasons = 4;

// The process as the kernel sees it (/proc/self/stat).
struct ProcessStats {
  double cpu_seconds = 0;         // user + system
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

struct Snapshot {
  bool accepting = true;  // false once shutdown began
  std::array<std::uint64_t, 2> connections{};  // open, by Transport
  std::uint64_t tls_handshakes = 0;            // TLS connections still in their handshake
  std::uint64_t clients = 0;                   // registered (said hello)
  std::uint64_t rooms = 0;
  std::uint64_t room_messages = 0;     // sequenced and sent to a room
  std::uint64_t private_messages = 0;  // sent to another nick
  std::uint64_t deliveries = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t queued_bytes = 0;
  std::uint64_t slow_consumers = 0;
  std::uint64_t flood_limited = 0;  // requests over --flood-rate
  std::uint64_t reply_limited = 0;  // history, who, rooms over --reply-rate
  std::array<std::uint64_t, refusal_reasons> refusals{};
  std::uint64_t tls_handshake_failures = 0;
  bool store = false;  // the sqlite store is in use: its metrics are shown
  std::uint64_t store_commits = 0;
  std::uint64_t store_failures = 0;
  LatencyHistogram commit_latency;
  std::optional<ProcessStats> process;  // none when /proc could not be read
};

// The whole /metrics body.
std::string render(const Snapshot& snapshot);

// The fields of /proc/self/stat (`stat`) with the clock ticks a second, the
// page size and the boot time (/proc/stat's btime): none when `stat` does not
// parse.
std::optional<ProcessStats> parse_process_stat(std::string_view stat, long ticks_per_second, long page_size,
                                               std::uint64_t boot_time);
// Reads them for this process.
std::optional<ProcessStats> read_process_stats();

// `--metrics HOST:PORT`, `[V6]:PORT` or just `PORT` (then 127.0.0.1). The
// port is from 1 to 65535, or 0 for a free one (said on stderr).
struct Endpoint {
  std::string host;
  std::string port;
};
std::optional<Endpoint> parse_endpoint(std::string_view text);

}  // namespace corochat::server::metrics
