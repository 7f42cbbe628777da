#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "server/log.hpp"
#include "server/metrics/metrics.hpp"
#include "server/options.hpp"

using namespace corochat::server;
using namespace std::chrono_literals;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

}  // namespace

TEST_CASE("metrics: every counter of the snapshot is rendered under its name and labels", "[metrics]") {
  metrics::Snapshot s;
  s.connections = {12, 3};
  s.tls_handshakes = 2;
  s.clients = 14;
  s.rooms = 5;
  s.room_messages = 1000;
  s.private_messages = 7;
  s.deliveries = 90000;
  s.bytes_in = 123456;
  s.bytes_out = 9876543210;
  s.queued_bytes = 4096;
  s.slow_consumers = 1;
  s.flood_limited = 9;
  s.reply_limited = 4;
  s.refusals = {1, 2, 3, 4};
  s.tls_handshake_failures = 6;
  const std::string text = metrics::render(s);
  CHECK(has_line(text, "chatd_accepting 1"));
  CHECK(has_line(text, "chatd_connections{transport=\"plain\"} 12"));
  CHECK(has_line(text, "chatd_connections{transport=\"tls\"} 3"));
  CHECK(has_line(text, "chatd_tls_handshakes 2"));
  CHECK(has_line(text, "chatd_clients 14"));
  CHECK(has_line(text, "chatd_rooms 5"));
  CHECK(has_line(text, "chatd_messages_total{kind=\"room\"} 1000"));
  CHECK(has_line(text, "chatd_messages_total{kind=\"private\"} 7"));
  CHECK(has_line(text, "chatd_deliveries_total 90000"));
  CHECK(has_line(text, "chatd_received_bytes_total 123456"));
  CHECK(has_line(text, "chatd_sent_bytes_total 9876543210"));
  CHECK(has_line(text, "chatd_queued_bytes 4096"));
  CHECK(has_line(text, "chatd_slow_consumer_disconnects_total 1"));
  CHECK(has_line(text, "chatd_rate_limited_requests_total{limit=\"flood\"} 9"));
  CHECK(has_line(text, "chatd_rate_limited_requests_total{limit=\"replies\"} 4"));
  CHECK(has_line(text, "chatd_refused_connections_total{reason=\"too_many_connections\"} 1"));
  CHECK(has_line(text, "chatd_refused_connections_total{reason=\"connecting_too_fast\"} 2"));
  CHECK(has_line(text, "chatd_refused_connections_total{reason=\"server_full\"} 3"));
  CHECK(has_line(text, "chatd_refused_connections_total{reason=\"out_of_descriptors\"} 4"));
  CHECK(has_line(text, "chatd_tls_handshake_failures_total 6"));
  CHECK(has_line(text, "# TYPE chatd_deliveries_total counter"));
  CHECK(has_line(text, "# TYPE chatd_queued_bytes gauge"));
  // No store, no /proc: their families are left out rather than shown as 0.
  CHECK(text.find("chatd_store_") == std::string::npos);
  CHECK(text.find("process_") == std::string::npos);
  CHECK(text.ends_with("\n"));

  s.accepting = false;
  CHECK(has_line(metrics::render(s), "chatd_accepting 0"));
}

TEST_CASE("metrics: the commit latency histogram is cumulative and ends with +Inf", "[metrics]") {
  metrics::Snapshot s;
  s.store = true;
  s.store_commits = 4;
  s.store_failures = 1;
  s.commit_latency.add(200us);   // <= 0.0005
  s.commit_latency.add(700us);   // <= 0.001
  s.commit_latency.add(700us);
  s.commit_latency.add(5s);      // above every bound
  REQUIRE(s.commit_latency.count() == 4);
  const std::string text = metrics::render(s);
  CHECK(has_line(text, "# TYPE chatd_store_commit_seconds histogram"));
  CHECK(has_line(text, "chatd_store_commit_seconds_bucket{le=\"0.0005\"} 1"));
  CHECK(has_line(text, "chatd_store_commit_seconds_bucket{le=\"0.001\"} 3"));
  CHECK(has_line(text, "chatd_store_commit_seconds_bucket{le=\"2.5\"} 3"));
  CHECK(has_line(text, "chatd_store_commit_seconds_bucket{le=\"+Inf\"} 4"));
  CHECK(has_line(text, "chatd_store_commit_seconds_count 4"));
  CHECK(has_line(text, "chatd_store_commit_seconds_sum 5.0016"));
  CHECK(has_line(text, "chatd_store_commits_total 4"));
  CHECK(has_line(text, "chatd_store_failed_messages_total 1"));
}

TEST_CASE("metrics: the process's CPU, memory and start time from /proc/self/stat", "[metrics]") {
  // Fields 14 and 15 (utime, stime) 250 and 150 ticks, 22 (starttime) 1000
  // ticks after boot, 23 (vsize) bytes, 24 (rss) pages. The command name
  // holds a space and a ')'.
  const std::string stat =
      "4242 (chat d) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 150 0 0 20 0 1 0 1000 104857600 300 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
  const auto stats = metrics::parse_process_stat(stat, 100, 4096, 1'700'000'000);
  REQUIRE(stats);
  CHECK(stats->cpu_seconds == Approx(4.0));
  CHECK(stats->resident_bytes == 300u * 4096u);
  CHECK(stats->virtual_bytes == 104857600u);
  CHECK(stats->start_time_seconds == Approx(1'700'000'010.0));

  metrics::Snapshot s;
  s.process = stats;
  const std::string text = metrics::render(s);
  CHECK(has_line(text, "process_cpu_seconds_total 4"));
  CHECK(has_line(text, "process_resident_memory_bytes 1228800"));
  CHECK(has_line(text, "process_start_time_seconds 1700000010"));

  CHECK_FALSE(metrics::parse_process_stat("4242 chatd S 1", 100, 4096, 0));
  CHECK_FALSE(metrics::parse_process_stat("4242 (chatd) S 1 2 3", 100, 4096, 0));
  CHECK_FALSE(metrics::parse_process_stat(stat, 0, 4096, 0));
  CHECK(metrics::read_process_stats());  // this process: /proc is there on Linux
}

TEST_CASE("metrics: --metrics takes HOST:PORT or a port alone on loopback", "[metrics]") {
  struct Case {
    const char* text;
    const char* host;  // null: refused
    const char* port;
  };
  const Case cases[] = {
      {"9100", "127.0.0.1", "9100"},
      {"0", "127.0.0.1", "0"},
      {"0.0.0.0:9100", "0.0.0.0", "9100"},
      {"localhost:9464", "localhost", "9464"},
      {"[::1]:9100", "::1", "9100"},
      {"[::]:9100", "::", "9100"},
      {"::1:9100", nullptr, nullptr},  // an IPv6 address needs its brackets
      {"", nullptr, nullptr},
      {"host:", nullptr, nullptr},
      {":9100", nullptr, nullptr},
      {"[]:9100", nullptr, nullptr},
      {"65536", nullptr, nullptr},
      {"91x0", nullptr, nullptr},
      {"-1", nullptr, nullptr},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto endpoint = metrics::parse_endpoint(c.text);
    if (!c.host) {
      CHECK_FALSE(endpoint);
      continue;
    }
    REQUIRE(endpoint);
    CHECK(endpoint->host == c.host);
    CHECK(endpoint->port == c.port);
  }
}

TEST_CASE("metrics: chatd serves no metrics unless --metrics says where", "[metrics]") {
  const char* none[] = {"chatd"};
  CHECK_FALSE(parse_command_line(1, none).config.metrics);

  const char* port_only[] = {"chatd", "--metrics", "9464"};
  const CommandLine given = parse_command_line(3, port_only);
  REQUIRE(given.error.empty());
  REQUIRE(given.config.metrics);
  CHECK(given.config.metrics->host == "127.0.0.1");
  CHECK(given.config.metrics->port == "9464");

  const char* wrong[] = {"chatd", "--metrics=::1:9464"};
  CHECK(parse_command_line(2, wrong).error == "bad value for --metrics: '::1:9464' (HOST:PORT or a port)");
  CHECK(usage().find("--metrics HOST:PORT") != std::string::npos);
}

TEST_CASE("log: lines for the journal start with the syslog priority of their level", "[log]") {
  using log::Level;
  CHECK(log::format_line(Level::error, "store failed", true) == "<3>error: store failed\n");
  CHECK(log::format_line(Level::warn, "signal 15 received", true) == "<4>warn: signal 15 received\n");
  CHECK(log::format_line(Level::info, "connect 1.2.3.4:5", true) == "<6>info: connect 1.2.3.4:5\n");
  CHECK(log::format_line(Level::debug, "closed", true) == "<7>debug: closed\n");
  CHECK(log::format_line(Level::warn, "signal 15 received", false) == "chatd warn: signal 15 received\n");
}

TEST_CASE("log: JOURNAL_STREAM names stderr only with the same device and inode", "[log]") {
  CHECK(log::names_stream("8:12345", 8, 12345));
  CHECK_FALSE(log::names_stream("8:12345", 8, 12346));
  CHECK_FALSE(log::names_stream("9:12345", 8, 12345));
  CHECK_FALSE(log::names_stream("8:12345x", 8, 12345));
  CHECK_FALSE(log::names_stream(":12345", 0, 12345));
  CHECK_FALSE(log::names_stream("8", 8, 0));
  CHECK_FALSE(log::names_stream("", 0, 0));
}
