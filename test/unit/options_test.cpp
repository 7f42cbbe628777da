// chatd's options on the command line and in a --config file: what each
// invocation does (exit status and message), which wins, the file's errors
// with their line, --print-config read back, and what a reload may change.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "cli/command_line.hpp"
#include "cli/duration.hpp"
#include "server/options.hpp"

namespace {

using namespace corochat::server;
namespace fs = std::filesystem;

CommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "chatd");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

// The exit status main() gives the parsed command line.
int exit_status(const CommandLine& cl) {
  if (!cl.error.empty()) return corochat::cli::exit_usage;
  return corochat::cli::exit_ok;
}

// A file with `text`, removed at the end.
class TempFile {
 public:
  explicit TempFile(const std::string& text, const std::string& suffix = ".toml") {
    std::string name = (fs::temp_directory_path() / ("chatd-options-XXXXXX" + suffix)).string();
    const int fd = ::mkstemps(name.data(), static_cast<int>(suffix.size()));
    REQUIRE(fd >= 0);
    ::close(fd);
    path_ = name;
    write(text);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  void write(const std::string& text) const { std::ofstream(path_) << text; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

TEST_CASE("options: chatd invocations and what they give", "[options]") {
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string says;  // in the error, or in what is printed
  };
  const std::vector<Case> cases = {
      {{"--port", "7001"}, 0, ""},
      {{"--port=7001"}, 0, ""},
      {{"--port", "0"}, 0, ""},
      {{"--port", "65536"}, 2, "--port must be at most 65535"},
      {{"--port", "http"}, 2, "bad value for --port: 'http'"},
      {{"--port"}, 2, "--port"},
      {{"--prot", "7000"}, 2, "unknown option --prot"},
      {{"7000"}, 2, "unexpected argument '7000'"},
      {{"--default-room="}, 0, ""},
      {{"--idle-timeout", "90s"}, 0, ""},
      {{"--idle-timeout", "0"}, 0, ""},
      {{"--idle-timeout", "90"}, 2, "bad value for --idle-timeout: '90' (needs a unit: 90s or 90ms)"},
      {{"--idle-timeout", "90h"}, 2, "unknown unit 'h'"},
      {{"--close-grace", "169h"}, 2, "bad value for --close-grace"},
      {{"--log-level", "loud"}, 2, "bad value for --log-level: 'loud' (one of error warn info debug)"},
      {{"--no-plain"}, 2, "--no-plain needs --tls-cert and --tls-key"},
      {{"--tls-cert", "a.crt"}, 2, "--tls-cert and --tls-key go together"},
      {{"--password-file", "/nonexistent/chatd-password"}, 2, "cannot read a password from it"},
      {{"--config", "/nonexistent/chatd.toml"}, 2, "/nonexistent/chatd.toml: cannot read"},
      {{"--help"}, 0, "--max-line BYTES"},
      {{"-h"}, 0, "--config FILE"},
      {{"--version"}, 0, "(protocol 1)"},
  };
  for (const auto& c : cases) {
    const CommandLine cl = parse(c.args);
    INFO("chatd " << c.args.front() << ": " << cl.error << cl.output);
    CHECK(exit_status(cl) == c.status);
    CHECK((cl.error + cl.output).find(c.says) != std::string::npos);
    if (c.status == 2) CHECK(cl.hint == "(chatd --help lists the options)");
  }
}

TEST_CASE("options: the last of a repeated option wins", "[options]") {
  const CommandLine cl = parse({"--motd", "one", "--motd", "two"});
  REQUIRE(cl.error.empty());
  CHECK(cl.config.state.motd == "two");
}

TEST_CASE("options: a duration needs its unit everywhere but 0", "[options]") {
  using corochat::cli::parse_duration;
  using std::chrono::milliseconds;
  std::string why;
  CHECK(parse_duration("0", why) == milliseconds(0));
  CHECK(parse_duration("0s", why) == milliseconds(0));
  CHECK(parse_duration("250ms", why) == milliseconds(250));
  CHECK(parse_duration("2s", why) == milliseconds(2000));
  CHECK(parse_duration("1m", why) == milliseconds(60'000));
  CHECK_FALSE(parse_duration("120", why));
  CHECK(why == "needs a unit: 120s or 120ms");
  CHECK_FALSE(parse_duration("1.5s", why));
  CHECK_FALSE(parse_duration("s", why));
  CHECK_FALSE(parse_duration("-1s", why));
  CHECK_FALSE(parse_duration("99999999999999999999ms", why));
}

TEST_CASE("options: the command line wins over the config file", "[options][config-file]") {
  TempFile file("# a comment\nport = 7001\nmotd = \"from the file\"\nflood-rate = 3\nno-plain = false\n");
  const CommandLine cl = parse({"--config", file.path(), "--port", "7002", "--flood-rate", "5"});
  REQUIRE(cl.error.empty());
  CHECK(cl.config.port == "7002");
  CHECK(cl.config.state.motd == "from the file");
  CHECK(cl.config.connection.flood_rate == 5);
  CHECK(cl.config.state.limits.rate == 5);  // derived after both
  CHECK(cl.config.plain);
  const CommandLine file_only = parse({"--config", file.path()});
  REQUIRE(file_only.error.empty());
  CHECK(file_only.config.port == "7001");
  CHECK(file_only.config.connection.flood_rate == 3);
}

TEST_CASE("options: a config file's mistakes name the file and line", "[options][config-file]") {
  struct Case {
    std::string text;
    std::string says;  // after "FILE:"
  };
  const std::vector<Case> cases = {
      {"port = 7000\n\nprot = 7001\n", "3: unknown setting 'prot' (chatd --help lists them)"},
      {"max-line = 10\n", "1: max-line must be from 64 to 16777216 bytes"},
      {"motd = \"hi\"\nidle-timeout = \"120\"\n", "2: bad value for idle-timeout: '120' (needs a unit"},
      {"idle-timeout = 120\n", "1: bad value for idle-timeout: '120'"},
      {"no-plain = \"yes\"\n", "1: no-plain must be true or false"},
      {"port = true\n", "1: port must be a number"},
      {"motd = [\"a\"]\n", "1: motd must be a \"string\""},
      {"[server]\nport = 7000\n", "1: [server]: the file has no sections, only settings"},
      {"export-history = \"lobby\"\n", "1: unknown setting 'export-history'"},
      {"port = 7000\nmotd = \"unterminated\n", "2:"},
      {"port = 1\nport = 2\n", "2:"},  // TOML: a key only once
  };
  for (const auto& c : cases) {
    TempFile file(c.text);
    const CommandLine cl = parse({"--config", file.path()});
    INFO(c.text << " -> " << cl.error);
    CHECK(exit_status(cl) == 2);
    CHECK(cl.error.starts_with(file.path() + ":" + c.says));
  }
}

TEST_CASE("options: --print-config is read back by --config to the same settings", "[options][config-file]") {
  TempFile password("hunter2\n", ".txt");
  const CommandLine given = parse({"--port", "0", "--host", "127.0.0.1", "--motd", "say \"hi\"\\\n\ttabs\x01",
                                   "--default-room=", "--idle-timeout", "1500ms", "--close-grace", "2m",
                                   "--flood-rate", "0", "--max-per-ip", "3", "--log-level", "debug", "--store",
                                   "memory", "--sync", "full", "--password-file", password.path(), "--max-line",
                                   "1000", "--history", "7"});
  REQUIRE(given.error.empty());
  const std::string printed = print_config(given.config);
  CHECK(printed.find("idle-timeout = \"1500ms\"\n") != std::string::npos);
  CHECK(printed.find("port = 0\n") != std::string::npos);
  CHECK(printed.find("# tls-cert = (not set)\n") != std::string::npos);
  TempFile file(printed);
  const CommandLine read_back = parse({"--config", file.path()});
  INFO(printed);
  REQUIRE(read_back.error.empty());
  CHECK(print_config(read_back.config) == printed);
  CHECK(read_back.config.state == given.config.state);
  CHECK(read_back.config.connection == given.config.connection);
  CHECK(read_back.config.state.password == "hunter2");
  // And the defaults, read back, are the defaults.
  TempFile defaults(print_config(parse({}).config));
  CHECK(print_config(parse({"--config", defaults.path()}).config) == print_config(parse({}).config));
}

TEST_CASE("options: a reload applies the live settings and reports the others", "[options][reload]") {
  const Loaded before = load_configuration("", {{"port", "7000"}, {"motd", "old"}, {"flood-rate", "10"}});
  REQUIRE(before.error.empty());
  const Loaded after = load_configuration(
      "", {{"port", "7001"}, {"motd", "new"}, {"flood-rate", "2"}, {"max-per-ip", "1"}, {"history", "5"}});
  REQUIRE(after.error.empty());
  const Changes changes = compare_settings(before.config, after.config);
  CHECK(changes.live == std::vector<std::string>{"flood-rate", "max-per-ip", "motd"});
  CHECK(changes.restart == std::vector<std::string>{"port", "history"});

  ServerConfig running = before.config;
  take_live_settings(running, after.config);
  CHECK(running.state.motd == "new");
  CHECK(running.connection.flood_rate == 2);
  CHECK(running.state.limits.rate == 2);  // welcome advertises it
  CHECK(running.admission.max_per_address == 1);
  CHECK(running.port == "7000");
  CHECK(running.state.history == 100);
  // What is taken is exactly what is said to be live: nothing live is left
  // different, nothing restart-only changed.
  const Changes left = compare_settings(running, after.config);
  CHECK(left.live.empty());
  CHECK(left.restart == changes.restart);
}

TEST_CASE("options: every live setting is taken on reload", "[options][reload]") {
  // Each live setting changed alone, away from its default: after
  // take_live_settings no difference is left.
  TempFile password("pw\n", ".txt");
  const std::vector<Given> changed = {{"tls-cert", "a.crt"},    {"tls-key", "a.key"},  {"flood-rate", "1"},
                                      {"flood-burst", "2"},      {"max-per-ip", "1"},   {"connect-rate", "1"},
                                      {"connect-burst", "2"},    {"motd", "m"},         {"log-level", "debug"},
                                      {"password-file", password.path()}};
  std::size_t live = 0;
  for (const auto& [name, reload] : file_settings()) live += reload == Reload::live ? 1 : 0;
  CHECK(live == changed.size());
  for (const auto& g : changed) {
    INFO(g.name);
    std::vector<Given> given = {g};
    if (g.name == "tls-cert") given.push_back({"tls-key", "a.key"});
    if (g.name == "tls-key") given.push_back({"tls-cert", "a.crt"});
    const Loaded next = load_configuration("", given);
    REQUIRE(next.error.empty());
    ServerConfig running = load_configuration("", {}).config;
    if (g.name.starts_with("tls-")) running = load_configuration("", {{"tls-cert", "b.crt"}, {"tls-key", "b.key"}}).config;
    const Changes changes = compare_settings(running, next.config);
    CHECK(changes.restart.empty());
    CHECK_FALSE(changes.live.empty());
    take_live_settings(running, next.config);
    CHECK(compare_settings(running, next.config).live.empty());
  }
  // Turning TLS on needs its listener: a restart.
  const Changes tls_on =
      compare_settings(ServerConfig{}, load_configuration("", {{"tls-cert", "a.crt"}, {"tls-key", "a.key"}}).config);
  CHECK(tls_on.live.empty());
  CHECK(tls_on.restart == std::vector<std::string>{"tls-cert", "tls-key"});
  // ...and the files of a running listener stay until then.
  ServerConfig serving = load_configuration("", {{"tls-cert", "a.crt"}, {"tls-key", "a.key"}}).config;
  take_live_settings(serving, ServerConfig{});
  CHECK(serving.tls.cert_file == "a.crt");
  CHECK(compare_settings(serving, ServerConfig{}).restart == std::vector<std::string>{"tls-cert", "tls-key"});
}

TEST_CASE("options: the example etc/chatd.toml is read whole and marks exactly the live settings", "[options][config-file]") {
  const CommandLine cl = parse({"--config", EXAMPLE_CONFIG});
  INFO(cl.error);
  REQUIRE(cl.error.empty());
  CHECK(cl.config.store.data_dir == "/var/lib/chatd");
  // Every other setting it states is the default.
  ServerConfig expected = parse({"--data-dir", "/var/lib/chatd"}).config;
  CHECK(print_config(cl.config) == print_config(expected));
  // Its "[live]" marks agree with what a reload applies.
  std::ifstream in(EXAMPLE_CONFIG);
  std::vector<std::string> marked;
  for (std::string line; std::getline(in, line);) {
    if (line.find("[live]") == std::string::npos) continue;
    const auto start = line.find_first_not_of("# ");
    marked.push_back(line.substr(start, line.find(' ', start) - start));
  }
  std::vector<std::string> live;
  for (const auto& [name, reload] : file_settings())
    if (reload == Reload::live) live.push_back(name);
  std::sort(marked.begin(), marked.end());
  std::sort(live.begin(), live.end());
  CHECK(marked == live);
}
