// chat-bench end to end against a real chatd: tiny fan-out runs (window and
// fixed rate) and an idle run must complete with nothing lost and report
// every documented field; refused connections and bad usage must show in the
// exit status.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "chatd_process.hpp"

namespace json = boost::json;
using corochat::test::ChatdProcess;

namespace {

// chatd's limits that would distort a benchmark, off.
// As bench/run.sh runs chatd: the limits that would distort a load test off.
const std::vector<std::string> bench_flags = {"--default-room", "", "--flood-rate", "0", "--max-clients", "50000",
                                              "--queue-bytes", "8388608", "--max-per-ip", "0", "--connect-rate", "0",
                                              "--max-rooms-per-ip", "0"};

struct BenchResult {
  int exit_status = -1;
  std::string output;  // stdout and stderr
  json::object report;
};

// Runs chat-bench with `args` to its end (killed past `limit`).
BenchResult run_bench(std::vector<std::string> args, std::chrono::seconds limit = std::chrono::seconds(60)) {
  args.insert(args.begin(), CHAT_BENCH_PATH);
  const auto run = corochat::test::run_program(std::move(args), limit);
  BenchResult result;
  result.exit_status = run.exit_status;
  result.output = run.output;
  INFO(result.output);
  REQUIRE(result.exit_status >= 0);  // it ended within the limit
  // With --json, the one line that is a JSON object is the report.
  std::istringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("{")) continue;
    boost::system::error_code ec;
    json::value value = json::parse(line, ec);
    if (!ec && value.is_object()) result.report = value.get_object();
  }
  return result;
}

std::uint64_t count(const json::object& report, std::string_view field) {
  INFO(json::serialize(report));
  REQUIRE(report.contains(field));
  REQUIRE(report.at(field).is_number());
  return report.at(field).to_number<std::uint64_t>();
}

double number(const json::object& report, std::string_view field) {
  INFO(json::serialize(report));
  REQUIRE(report.contains(field));
  REQUIRE(report.at(field).is_number());
  return report.at(field).to_number<double>();
}

std::vector<std::string> common(const ChatdProcess& chatd, std::string mode) {
  return {std::move(mode), "--proto", "corochat", "--host", chatd.host(), "--port", chatd.port(),
          "--server-pid", std::to_string(chatd.pid()), "--json"};
}

void check_fanout(const BenchResult& run, std::uint64_t subscribers) {
  INFO(run.output);
  CHECK(run.exit_status == 0);
  const json::object& r = run.report;
  const std::uint64_t sent = count(r, "sent");
  CHECK(sent > 0);
  CHECK(count(r, "deliveries") == sent * subscribers);
  CHECK(count(r, "delivered") == sent * subscribers);
  CHECK(count(r, "lost") == 0);
  CHECK(count(r, "duplicate") == 0);
  CHECK(count(r, "out_of_order") == 0);
  CHECK(count(r, "corrupt") == 0);
  CHECK(count(r, "room_seq_errors") == 0);
  CHECK(number(r, "deliveries_per_s") > 0);
  CHECK(count(r, "latency_samples") > 0);
  const double p50 = number(r, "latency_p50_us");
  CHECK(p50 > 0);
  CHECK(number(r, "latency_p99_us") >= p50);
  CHECK(number(r, "latency_p999_us") >= number(r, "latency_p99_us"));
  CHECK(number(r, "latency_max_us") >= number(r, "latency_p999_us"));
  CHECK(number(r, "server_cpu_s") >= 0);
  CHECK(number(r, "server_cpu_s_per_m_deliveries") >= 0);
  CHECK(count(r, "server_rss_kb") > 0);
  CHECK(number(r, "bench_cpu_s") >= 0);
  CHECK(number(r, "bench_cpu_pct") >= 0);
}

}  // namespace

TEST_CASE("fanout with a window: every message reaches every subscriber") {
  ChatdProcess chatd(bench_flags);
  auto args = common(chatd, "fanout");
  args.insert(args.end(), {"--subscribers", "5", "--publishers", "2", "--payload", "100", "--window", "16",
                           "--duration", "1s", "--warmup", "200ms"});
  check_fanout(run_bench(args), 5);
}

TEST_CASE("fanout at a fixed rate: sends rate x duration, loses nothing") {
  ChatdProcess chatd(bench_flags);
  auto args = common(chatd, "fanout");
  args.insert(args.end(), {"--subscribers", "5", "--publishers", "2", "--payload", "64", "--rate", "200",
                           "--duration", "1s"});
  const BenchResult run = run_bench(args);
  check_fanout(run, 5);
  CHECK(count(run.report, "sent") == 200);
}

TEST_CASE("idle: connections held in rooms, server memory sampled") {
  ChatdProcess chatd(bench_flags);
  auto args = common(chatd, "idle");
  args.insert(args.end(), {"--connections", "50", "--room-size", "10", "--hold", "0"});
  const BenchResult run = run_bench(args);
  INFO(run.output);
  CHECK(run.exit_status == 0);
  const json::object& r = run.report;
  CHECK(count(r, "connections") == 50);
  CHECK(count(r, "connected") == 50);
  CHECK(count(r, "errors") == 0);
  CHECK(number(r, "connect_all_s") > 0);
  const std::uint64_t before = count(r, "server_rss_kb_before");
  CHECK(before > 0);
  CHECK(count(r, "server_rss_kb_after") > 0);
  CHECK(r.contains("rss_per_conn_kb"));
}

TEST_CASE("connect: refused connections are errors and exit status 1") {
  // The server takes 10 clients; the other 5 are refused (server_full).
  std::vector<std::string> flags = bench_flags;
  flags[5] = "10";  // --max-clients
  ChatdProcess chatd(flags);
  auto args = common(chatd, "connect");
  args.insert(args.end(), {"--connections", "15", "--room-size", "5", "--concurrency", "1"});
  const BenchResult run = run_bench(args);
  INFO(run.output);
  CHECK(run.exit_status == 1);
  CHECK(count(run.report, "connected") == 10);
  CHECK(count(run.report, "errors") == 5);
  CHECK(run.report.contains("error"));
}

TEST_CASE("bad usage is exit status 2") {
  CHECK(run_bench({"fanout", "--proto", "corochat", "--port", "1", "--subscribers", "1"}).exit_status == 2);
  CHECK(run_bench({"storm"}).exit_status == 2);
}

TEST_CASE("fanout over TLS: verified against the given CA, refused against the system's") {
  char dir_template[] = "/tmp/chat-bench-tls-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::system(("rm -rf '" + dir + "'").c_str()); }
  } cleanup{dir};
  REQUIRE(std::system(("bash '" MAKE_CERT_PATH "' >/dev/null 2>&1 -o '" + dir + "'").c_str()) == 0);
  std::vector<std::string> flags = bench_flags;
  flags.insert(flags.end(), {"--tls-cert", dir + "/chatd.crt", "--tls-key", dir + "/chatd.key", "--tls-port", "0",
                             "--no-plain"});
  ChatdProcess chatd(flags);

  auto args = common(chatd, "fanout");
  args.insert(args.end(), {"--subscribers", "5", "--publishers", "2", "--payload", "100", "--window", "16",
                           "--duration", "1s", "--warmup", "200ms"});
  auto verified = args;
  verified.insert(verified.end(), {"--ca", dir + "/chatd.crt"});
  check_fanout(run_bench(verified), 5);

  // The self-signed certificate is in no system trust store.
  auto unverified = args;
  unverified.push_back("--tls");
  const BenchResult refused = run_bench(unverified);
  INFO(refused.output);
  CHECK(refused.exit_status == 1);
  CHECK(refused.output.find("certificate verify failed") != std::string::npos);
}
