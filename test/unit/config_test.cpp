// chatd's configuration: --help states the defaults a default-constructed
// ServerConfig has, the ranges it states are the ones enforced, and welcome
// advertises what the configuration says.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include "corochat/protocol/framer.hpp"
#include "corochat/protocol/request.hpp"
#include "server/chat_state.hpp"
#include "server/config.hpp"
#include "server/options.hpp"

namespace {

namespace json = boost::json;
using namespace corochat::server;
using corochat::protocol::AdvertisedLimits;

CommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "chatd");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

bool same(const AdmissionConfig& a, const AdmissionConfig& b) {
  return a.max_per_address == b.max_per_address && a.connect_rate == b.connect_rate &&
         a.connect_burst == b.connect_burst && a.ipv6_prefix == b.ipv6_prefix && a.max_clients == b.max_clients;
}

bool same(const StoreConfig& a, const StoreConfig& b) {
  return a.kind == b.kind && a.data_dir == b.data_dir && a.sync == b.sync &&
         a.retention.retain_messages == b.retention.retain_messages &&
         a.retention.retain_days == b.retention.retain_days && a.max_pages == b.max_pages &&
         a.export_room == b.export_room;
}

bool same(const ServerConfig& a, const ServerConfig& b) {
  return a.host == b.host && a.port == b.port && a.plain == b.plain && a.tls == b.tls && a.connection == b.connection &&
         a.state == b.state && same(a.admission, b.admission) && a.threads == b.threads &&
         a.max_refusing == b.max_refusing && a.log_level == b.log_level && same(a.store, b.store);
}

// The default configuration as chatd runs it: derived settings set.
ServerConfig derived_defaults() {
  ServerConfig config;
  derive_settings(config);
  return config;
}

struct StatedDefault {
  std::string option;
  std::string value;
  std::string line;
};

// Every "(...default X)" of the help text, with its option.
std::vector<StatedDefault> stated_defaults() {
  std::vector<StatedDefault> found;
  std::istringstream help(usage());
  for (std::string line; std::getline(help, line);) {
    if (!line.starts_with("  --")) continue;
    const std::string option = line.substr(2, line.find(' ', 2) - 2);
    const auto at = line.rfind("default ");
    if (at == std::string::npos || line.back() != ')') continue;
    const auto from = at + std::string_view("default ").size();
    found.push_back({option, line.substr(from, line.size() - 1 - from), line});
  }
  return found;
}

// The help line of `option`.
std::string help_line(std::string_view option) {
  std::istringstream help(usage());
  for (std::string line; std::getline(help, line);)
    if (line.starts_with("  " + std::string(option) + " ")) return line;
  return {};
}

}  // namespace

TEST_CASE("config: every default the help text states is the default-constructed setting", "[config]") {
  const std::vector<StatedDefault> stated = stated_defaults();
  // Every option with a value that has a default states it: all but the
  // files, the MOTD, the room to export and the flags.
  CHECK(stated.size() == 32);
  const ServerConfig defaults = derived_defaults();
  for (const auto& s : stated) {
    INFO(s.line);
    // Away from the default, then back to it by the stated text: the option
    // reaches a setting, and the stated text is that setting's default.
    const CommandLine back = parse({s.option, s.value});
    REQUIRE(back.error.empty());
    CHECK(same(back.config, defaults));
  }
}

TEST_CASE("config: the stated defaults are read from the configuration not written in the help", "[config]") {
  // A default changed in ServerConfig shows in --help: the help of a
  // duration, a size and a count each name their field's value.
  const ServerConfig defaults;
  CHECK(help_line("--idle-timeout").ends_with("(default " + duration_text(defaults.connection.idle) + ")"));
  CHECK(help_line("--max-line").ends_with("default " + std::to_string(defaults.connection.max_line) + ")"));
  CHECK(help_line("--max-line").find("from 64 to 16777216;") != std::string::npos);
  CHECK(help_line("--history").find("at most " + std::to_string(ranges::history.max)) != std::string::npos);
}

TEST_CASE("config: durations are stated as the parser reads them", "[config]") {
  using std::chrono::milliseconds;
  CHECK(duration_text(milliseconds(120'000)) == "120s");
  CHECK(duration_text(milliseconds(500)) == "500ms");
  CHECK(duration_text(milliseconds(1500)) == "1500ms");
  for (const auto ms : {1, 999, 1000, 1500, 60'000, 120'000}) {
    const CommandLine cl = parse({"--idle-timeout", duration_text(milliseconds(ms))});
    REQUIRE(cl.error.empty());
    CHECK(cl.config.connection.idle == milliseconds(ms));
  }
}

TEST_CASE("config: a value outside its stated range is refused with that range", "[config]") {
  const CommandLine low = parse({"--max-line", std::to_string(ranges::max_line.min - 1)});
  CHECK(low.error == "--max-line must be from 64 to 16777216 bytes (a hello needs a few dozen)");
  CHECK(parse({"--max-line", std::to_string(ranges::max_line.min)}).error.empty());
  CHECK(parse({"--max-line", std::to_string(ranges::max_line.max)}).error.empty());
  CHECK_FALSE(parse({"--max-line", std::to_string(ranges::max_line.max + 1)}).error.empty());
  CHECK(parse({"--threads", "2"}).error == "--threads must be exactly 1 (chatd runs its I/O on one thread)");
  CHECK(parse({"--history", "1000001"}).error == "--history must be at most 1000000");
  CHECK(parse({"--max-text", "0"}).error == "--max-text must be at least 1 byte");
  CHECK(parse({"--tls-handshake-timeout", "0"}).error == "--tls-handshake-timeout must be at least 1ms");
  // The admission's own check of a prefix agrees with the stated range.
  CHECK_FALSE(Admission::valid_ipv6_prefix(ranges::ipv6_prefix.min - 1));
  CHECK(Admission::valid_ipv6_prefix(ranges::ipv6_prefix.min));
  CHECK(Admission::valid_ipv6_prefix(ranges::ipv6_prefix.max));
  CHECK_FALSE(Admission::valid_ipv6_prefix(ranges::ipv6_prefix.max + 1));
  CHECK(parse({"--ipv6-prefix", "129"}).error == "--ipv6-prefix must be from 1 to 128");
  CHECK(parse({"--ipv6-prefix", "128"}).config.admission.ipv6_prefix == 128);
}

TEST_CASE("config: one max_line default for the framer the config and welcome", "[config]") {
  CHECK(ServerConfig{}.connection.max_line == corochat::protocol::default_max_line);
  CHECK(corochat::protocol::LineFramer{}.max_line() == corochat::protocol::default_max_line);
  CHECK(AdvertisedLimits{}.max_line == static_cast<std::int64_t>(corochat::protocol::default_max_line));
}

TEST_CASE("config: the derived settings of the defaults are the state machine's own defaults", "[config]") {
  // A StateConfig on its own (tests, benchmarks) behaves as chatd does by default.
  CHECK(same(derived_defaults(), ServerConfig{}));
  CHECK(ServerConfig{}.state.limits == advertised_limits(ServerConfig{}));
  CHECK(ServerConfig{}.state.max_reply_bytes == reply_byte_cap(ServerConfig{}.connection.queue_bytes));
}

TEST_CASE("config: a history reply takes at most a quarter of the queue", "[config]") {
  CHECK(reply_byte_cap(1 << 20) == 256 * 1024);
  CHECK(reply_byte_cap(40'000) == 10'000);
  CHECK(reply_byte_cap(3) == 1);  // never 0: one line is always allowed
  const CommandLine cl = parse({"--queue-bytes", "40000"});
  REQUIRE(cl.error.empty());
  CHECK(cl.config.state.max_reply_bytes == 10'000);
}

TEST_CASE("config: welcome advertises the limits of the command line", "[config]") {
  const CommandLine cl = parse({"--max-line", "1000", "--max-text", "300", "--flood-rate", "3", "--flood-burst", "7",
                                "--history", "42", "--idle-timeout", "1500ms", "--max-rooms-per-client", "9"});
  REQUIRE(cl.error.empty());
  const AdvertisedLimits expected{.max_line = 1000, .max_text = 300, .rate = 3, .burst = 7, .history = 42,
                                  .idle = 2,  // whole seconds, rounded up
                                  .max_rooms_per_client = 9};
  CHECK(cl.config.state.limits == expected);

  // What a client is told in welcome, from the state machine configured so.
  ChatState state(cl.config.state, [] { return std::string("token"); });
  state.connect(1);
  corochat::protocol::ParseResult hello = corochat::protocol::parse_request(R"({"type":"hello","nick":"alice"})");
  REQUIRE(std::holds_alternative<corochat::protocol::Request>(hello));
  const Effects fx = state.handle(1, std::get<corochat::protocol::Request>(hello), 1000);
  REQUIRE_FALSE(fx.deliveries.empty());
  const json::object welcome = json::parse(*fx.deliveries.front().line).as_object();
  REQUIRE(welcome.at("type") == "welcome");
  CHECK(welcome.at("limits") == json::parse(R"({"max_line":1000,"max_text":300,"rate":3,"burst":7,)"
                                            R"("history":42,"idle":2,"max_rooms_per_client":9})"));
}

TEST_CASE("config: without a flood limit welcome advertises no burst", "[config]") {
  const CommandLine cl = parse({"--flood-rate", "0"});
  REQUIRE(cl.error.empty());
  CHECK(cl.config.state.limits.rate == 0);
  CHECK(cl.config.state.limits.burst == 0);
}
