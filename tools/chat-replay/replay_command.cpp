#include "replay_command.hpp"

#include <CLI/CLI.hpp>

#ifndef COROCHAT_VERSION
#define COROCHAT_VERSION "0.0.0"
#endif

namespace corochat::replay {
namespace {

// "[HOST:]PORT" ("[::1]:7000" for IPv6); false when malformed.
bool split_host_port(std::string_view text, std::string& host, std::string& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    port = std::string(text);
  } else {
    host = std::string(text.substr(0, colon));
    port = std::string(text.substr(colon + 1));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) return false;
  }
  std::size_t number = 0;
  for (const char c : port) {
    if (c < '0' || c > '9' || number > 65535) return false;
    number = number * 10 + static_cast<std::size_t>(c - '0');
  }
  return !port.empty() && number <= 65535;
}

// A server's port: 1 to 65535.
CLI::Validator port_check() { return CLI::Range(1, 65535).description(""); }

}  // namespace

ReplayCommand parse_replay_command(const std::vector<std::string>& args) {
  ReplayCommand command;
  CLI::App app{"Runs scripted clients (scenario files) against a chat server of protocol 1, or records a live "
               "session into a scenario (docs/replay.md).",
               "chat-replay"};
  cli::prepare(app, "chat-replay " COROCHAT_VERSION " (protocol 1)");
  app.footer(
      "Durations in scenarios take a unit: 250ms, 2s, 1m (0 needs none).\n"
      "Exit status: 0 all passed, 1 some failed, 2 a scenario file or the command line is wrong.");
  RunOptions& run = command.run;
  app.add_option("--host", run.host, "the server's address (default 127.0.0.1)")->type_name("H");
  app.add_option("--port", run.port, "the server's port (default 7000)")->type_name("P")->check(port_check());
  app.add_flag("--tls", run.tls.enabled, "connect with TLS, checking the server's certificate and name");
  app.add_option("--ca", run.tls.ca_file, "trust the PEM certificates in FILE (implies --tls)")->type_name("FILE");
  app.add_flag("--insecure", run.tls.insecure, "TLS without checking the certificate (implies --tls; unsafe)");
  app.add_option("--junit", command.junit_path, "also write a JUnit XML report")->type_name("FILE");
  app.add_flag("--verbose", command.verbose, "show every line sent (>) and received (<)");
  app.add_flag("--real-time", run.real_time, "keep the recorded pauses (`pause` steps)");
  app.add_option("scenarios", command.files, "scenario files")->type_name("SCENARIO");

  CLI::App* record = app.add_subcommand(
      "record",
      "a proxy on --listen that forwards to --upstream and writes what passes through as a scenario (the server's "
      "lines become expectations, without fields that change between runs); stop it with Ctrl-C");
  std::string listen;
  std::string upstream;
  record->add_option("--listen", listen, "where clients connect; 0 picks a free port")
      ->type_name("[HOST:]PORT")
      ->required();
  record->add_option("--upstream", upstream, "the server to forward to")->type_name("HOST:PORT")->required();
  record->add_option("--out", command.recording.out_path, "the scenario file to write")->type_name("FILE")->required();

  command.parsed = cli::parse(app, args);
  if (command.parsed.exit) return command;
  auto usage_error = [&](std::string error, std::string hint) {
    command.parsed.exit = true;
    command.parsed.status = cli::exit_usage;
    command.parsed.error = std::move(error);
    command.parsed.hint = std::move(hint);
    return command;
  };
  if (record->parsed()) {
    command.record = true;
    RecordOptions& r = command.recording;
    const std::string hint = "(chat-replay record --help lists the options)";
    if (!split_host_port(listen, r.listen_host, r.listen_port))
      return usage_error("bad value for --listen: '" + listen + "' ([HOST:]PORT, port 0 to 65535)", hint);
    if (!split_host_port(upstream, r.upstream_host, r.upstream_port) || r.upstream_host.empty() ||
        r.upstream_port == "0")
      return usage_error("bad value for --upstream: '" + upstream + "' (HOST:PORT)", hint);
    return command;
  }
  if (!run.tls.ca_file.empty() || run.tls.insecure) run.tls.enabled = true;
  if (command.files.empty()) return usage_error("no scenario file given", "(chat-replay --help lists the options)");
  return command;
}

}  // namespace corochat::replay
