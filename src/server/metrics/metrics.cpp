#include "server/metrics/metrics.hpp"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace corochat::server::metrics {
namespace {

constexpr std::array<std::string_view, refusal_reasons> refusal_labels = {
    "too_many_connections", "connecting_too_fast", "server_full", "out_of_descriptors"};

// Shortest text that reads back as the same double ("0.0005", "0.5", "2").
std::string number(double value) {
  if (value == static_cast<double>(static_cast<std::int64_t>(value)) && value < 9.0e15 && value > -9.0e15)
    return std::to_string(static_cast<std::int64_t>(value));  // a start time whole, not "1.7e+09"
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value, std::chars_format::general);
  return std::string(text, ec == std::errc{} ? end : text);
}

class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, std::string_view value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
    sample(name, labels, std::to_string(value));
  }
  void single(std::string_view name, std::string_view type, std::string_view help, std::uint64_t value) {
    family(name, type, help);
    sample(name, {}, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string render(const Snapshot& s) {
  Writer w;
  w.single("chatd_accepting", "gauge", "1 while chatd accepts connections, 0 once shutdown began.",
           s.accepting ? 1 : 0);
  w.family("chatd_connections", "gauge", "Open client connections, by transport.");
  w.sample("chatd_connections", "transport=\"plain\"", s.connections[0]);
  w.sample("chatd_connections", "transport=\"tls\"", s.connections[1]);
  w.single("chatd_tls_handshakes", "gauge", "TLS connections still in their handshake.", s.tls_handshakes);
  w.single("chatd_clients", "gauge", "Connections registered with a nick.", s.clients);
  w.single("chatd_rooms", "gauge", "Rooms kept (with members or history).", s.rooms);
  w.family("chatd_messages_total", "counter", "Messages sent, to rooms (sequenced) and to nicks.");
  w.sample("chatd_messages_total", "kind=\"room\"", s.room_messages);
  w.sample("chatd_messages_total", "kind=\"private\"", s.private_messages);
  w.single("chatd_deliveries_total", "counter", "Lines queued to a connection (messages, replies, presence).",
           s.deliveries);
  w.single("chatd_received_bytes_total", "counter", "Request bytes read from clients (inside TLS).", s.bytes_in);
  w.single("chatd_sent_bytes_total", "counter", "Event bytes written to clients (inside TLS).", s.bytes_out);
  w.single("chatd_queued_bytes", "gauge", "Bytes held in outgoing queues, not yet written.", s.queued_bytes);
  w.single("chatd_slow_consumer_disconnects_total", "counter",
           "Connections closed because their outgoing queue overflowed.", s.slow_consumers);
  w.family("chatd_rate_limited_requests_total", "counter",
           "Requests refused with rate_limited: over the flood limit, or over the reply budget.");
  w.sample("chatd_rate_limited_requests_total", "limit=\"flood\"", s.flood_limited);
  w.sample("chatd_rate_limited_requests_total", "limit=\"replies\"", s.reply_limited);
  w.family("chatd_refused_connections_total", "counter", "Connections refused before the chat, by reason.");
  for (std::size_t i = 0; i < refusal_reasons; ++i)
    w.sample("chatd_refused_connections_total", "reason=\"" + std::string(refusal_labels[i]) + "\"", s.refusals[i]);
  w.single("chatd_tls_handshake_failures_total", "counter", "TLS handshakes that failed or timed out.",
           s.tls_handshake_failures);
  if (s.store) {
    w.single("chatd_store_commits_total", "counter", "Appends the history store committed (one per group commit).",
             s.store_commits);
    w.single("chatd_store_failed_messages_total", "counter", "Messages the history store could not keep.",
             s.store_failures);
    w.family("chatd_store_commit_seconds", "histogram", "Time from handing messages to the store to their commit.");
    std::uint64_t cumulative = 0;
    const auto& h = s.commit_latency;
    for (std::size_t i = 0; i < h.bounds.size(); ++i) {
      cumulative += h.counts[i];
      w.sample("chatd_store_commit_seconds_bucket", "le=\"" + number(h.bounds[i]) + "\"", cumulative);
    }
    cumulative += h.counts.back();
    w.sample("chatd_store_commit_seconds_bucket", "le=\"+Inf\"", cumulative);
    w.sample("chatd_store_commit_seconds_sum", {}, number(h.sum_seconds));
    w.sample("chatd_store_commit_seconds_count", {}, cumulative);
  }
  if (s.process) {
    w.family("process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
    w.sample("process_cpu_seconds_total", {}, number(s.process->cpu_seconds));
    w.single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", s.process->resident_bytes);
    w.single("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", s.process->virtual_bytes);
    w.family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.");
    w.sample("process_start_time_seconds", {}, number(s.process->start_time_seconds));
  }
  return w.take();
}

std::optional<ProcessStats> parse_process_stat(std::string_view stat, long ticks_per_second, long page_size,
                                               std::uint64_t boot_time) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields are counted from the last ')'. Field 3 (state) follows it.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0 || page_size <= 0) return std::nullopt;
  std::istringstream fields{std::string(stat.substr(close + 1))};
  std::string field;
  std::uint64_t utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  for (int n = 3; n <= 24 && fields >> field; ++n) {
    std::uint64_t* into = n == 14 ? &utime : n == 15 ? &stime : n == 22 ? &start : n == 23 ? &vsize : n == 24 ? &rss
                                                                                                        : nullptr;
    if (!into) continue;
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), *into);
    if (ec != std::errc{} || end != field.data() + field.size()) return std::nullopt;
    if (n == 24) {
      const double ticks = static_cast<double>(ticks_per_second);
      return ProcessStats{static_cast<double>(utime + stime) / ticks, rss * static_cast<std::uint64_t>(page_size),
                          vsize, static_cast<double>(boot_time) + static_cast<double>(start) / ticks};
    }
  }
  return std::nullopt;
}

std::optional<ProcessStats> read_process_stats() {
  static const std::uint64_t boot_time = [] {
    std::ifstream in("/proc/stat");
    std::string key;
    std::uint64_t value = 0;
    while (in >> key) {
      if (key == "btime" && in >> value) return value;
      in.ignore(1 << 20, '\n');
    }
    return std::uint64_t{0};
  }();
  std::ifstream in("/proc/self/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  return parse_process_stat(stat, ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE), boot_time);
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  Endpoint endpoint{"127.0.0.1", std::string(text)};
  if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    std::string_view host = text.substr(0, colon);
    if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
    else if (host.find(':') != std::string_view::npos) return std::nullopt;  // an IPv6 address needs brackets
    if (host.empty()) return std::nullopt;
    endpoint = {std::string(host), std::string(text.substr(colon + 1))};
  }
  const std::string& port = endpoint.port;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) return std::nullopt;
  return endpoint;
}

}  // namespace corochat::server::metrics
