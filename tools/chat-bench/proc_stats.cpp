#include "proc_stats.hpp"

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

namespace corochat::bench {
namespace {

std::optional<std::uint64_t> number_at(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{}) return std::nullopt;
  return value;
}

std::optional<std::string> read_all(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<std::uint64_t> parse_stat_cpu_ticks(std::string_view stat) {
  // "PID (comm) S ppid ...": comm may hold spaces and parentheses, so count
  // fields from the last ')'. Field 3 (state) is the first after it.
  const std::size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  std::optional<std::uint64_t> utime, stime;
  for (int field = 3; field <= 15; ++field) {
    const std::size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    rest = rest.substr(start);
    const std::size_t end = std::min(rest.find(' '), rest.size());
    if (field == 14) utime = number_at(rest.substr(0, end));
    if (field == 15) stime = number_at(rest.substr(0, end));
    rest = rest.substr(end);
  }
  if (!utime || !stime) return std::nullopt;
  return *utime + *stime;
}

std::optional<std::uint64_t> parse_status_rss_kb(std::string_view status) {
  static constexpr std::string_view key = "\nVmRSS:";
  std::size_t at = status.starts_with(key.substr(1)) ? 0 : status.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  at += status.starts_with(key.substr(1)) ? key.size() - 1 : key.size();
  const std::size_t digits = status.find_first_not_of(" \t", at);
  if (digits == std::string_view::npos) return std::nullopt;
  return number_at(status.substr(digits));
}

std::optional<ProcessSample> sample_process(int pid) {
  if (pid <= 0) return std::nullopt;
  const std::string dir = "/proc/" + std::to_string(pid);
  auto stat = read_all(dir + "/stat");
  auto status = read_all(dir + "/status");
  if (!stat || !status) return std::nullopt;
  auto ticks = parse_stat_cpu_ticks(*stat);
  auto rss = parse_status_rss_kb(*status);
  if (!ticks || !rss) return std::nullopt;
  return ProcessSample{static_cast<double>(*ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK)), *rss};
}

double own_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace corochat::bench
