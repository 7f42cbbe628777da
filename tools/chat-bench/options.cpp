#include "options.hpp"

#include <functional>

#include <CLI/CLI.hpp>

#include "cli/command_line.hpp"
#include "cli/duration.hpp"
#include "payload.hpp"

#ifndef COROCHAT_VERSION
#define COROCHAT_VERSION "0.0.0"
#endif

namespace corochat::bench {
namespace {

// A duration option ("10s", "500ms") into seconds.
CLI::Option* add_duration(CLI::App& app, const std::string& name, double& seconds, const std::string& help) {
  return app
      .add_option_function<std::string>(
          name,
          [&seconds, name](const std::string& text) {
            std::string why;
            const auto duration = cli::parse_duration(text, why);
            if (!duration) throw CLI::ValidationError("bad value for " + name + ": '" + text + "' (" + why + ")");
            seconds = std::chrono::duration<double>(*duration).count();
          },
          help)
      ->type_name("DURATION");
}

// What every mode takes.
void add_common(CLI::App& mode, Options& o, std::string& proto, std::optional<bool>& quickack) {
  mode.add_option("--proto", proto, "corochat, irc, nats, redis or lines")->type_name("P")->required();
  mode.add_option("--host", o.host, "the server's address (default 127.0.0.1)")->type_name("H");
  mode.add_option("--port", o.port, "the server's port")->type_name("N")->required()->check(CLI::Range(1, 65535).description(""));
  mode.add_option("--server-pid", o.server_pid, "sample this process's CPU and memory")
      ->type_name("PID")
      ->check(CLI::Range(1, 0x3fffffff).description(""));
  mode.add_flag("--json", o.json, "one JSON object instead of a table");
  mode.add_option("--concurrency", o.concurrency, "connections set up at once (default 200)")
      ->type_name("N")
      ->check(CLI::Validator(CLI::PositiveNumber).description(""));
  mode.add_flag_function("--quickack", [&quickack](std::int64_t) { quickack = true; },
                         "acknowledge every read at once (default on for irc, nats, redis)");
  mode.add_flag_function("--no-quickack", [&quickack](std::int64_t) { quickack = false; }, "...or not");
  mode.add_option("--nick-prefix", o.nick_prefix, "nicks are this and a number (default cb)")->type_name("TEXT");
  mode.add_option("--irc-oper", o.irc_oper, "irc publishers OPER and set user mode +F (ngIRCd's flood relief)")
      ->type_name("NAME:PASSWORD")
      ->check(
          [](const std::string& v) -> std::string {
            const std::size_t colon = v.find(':');
            return colon != std::string::npos && colon > 0 && colon + 1 < v.size() ? "" : "expected NAME:PASSWORD";
          },
          "");
  mode.add_flag("--tls", o.tls, "corochat over TLS, checking the certificate against the system's authorities");
  mode.add_option("--ca", o.ca_file, "trust the PEM certificates in FILE instead (implies --tls)")->type_name("FILE");
  mode.add_flag("--insecure", o.insecure, "TLS without checking the certificate (implies --tls)");
}

std::string check(Options& o, const std::string& proto, std::optional<bool> quickack) {
  const auto kind = protocol_from_name(proto);
  if (!kind) return "bad value for --proto: '" + proto + "' (corochat, irc, nats, redis or lines)";
  o.protocol = *kind;
  if (!o.ca_file.empty() || o.insecure) o.tls = true;
  o.quickack = quickack.value_or(quickack_by_default(o.protocol));
  if (o.tls && o.protocol != ProtocolKind::corochat) return "--tls is for --proto corochat";
  if (o.mode == Mode::fanout) {
    if (o.subscribers == 0) return "--subscribers must be at least 1";
    if (o.publishers == 0 || o.publishers > max_publisher + 1) return "--publishers must be 1 to 65536";
    if (o.payload < payload_header_size)
      return "--payload must be at least " + std::to_string(payload_header_size) + " bytes";
    if (o.protocol == ProtocolKind::irc && o.payload > 400)
      return "--payload must be at most 400 bytes for irc (512-byte lines)";
    if ((o.window > 0) == (o.rate > 0)) return "give exactly one of --window W or --rate MSGS_PER_S";
    if (o.duration <= 0) return "--duration must be more than 0";
  } else {
    if (o.connections == 0) return "--connections must be at least 1";
    if (o.room_size == 0) return "--room-size must be at least 1";
  }
  return {};
}

}  // namespace

ParsedOptions parse_options(const std::vector<std::string_view>& args) {
  CLI::App app{"A load generator for chat and pub/sub servers (docs/chat-bench.md).", "chat-bench"};
  cli::prepare(app, "chat-bench " COROCHAT_VERSION);
  app.require_subcommand(1);
  app.footer("Durations take a unit: 500ms, 10s or 1m. Exit status: 0 done, 1 a run failed, 2 bad command line.");
  Options o;
  std::string proto;
  std::optional<bool> quickack;

  CLI::App* fanout = app.add_subcommand("fanout", "publishers send to one room; every subscriber gets every message");
  add_common(*fanout, o, proto, quickack);
  fanout->add_option("--subscribers", o.subscribers, "clients receiving")->type_name("N")->required();
  fanout->add_option("--publishers", o.publishers, "clients sending (default 1)")->type_name("P");
  fanout->add_option("--payload", o.payload, "bytes of each message (default 100)")->type_name("BYTES");
  fanout->add_option("--window", o.window, "messages in flight per publisher")->type_name("W");
  fanout->add_option("--rate", o.rate, "messages a second, all publishers together")
      ->type_name("MSGS_PER_S")
      ->check(CLI::Validator(CLI::NonNegativeNumber).description(""));
  add_duration(*fanout, "--duration", o.duration, "how long the measured interval lasts")->required();
  add_duration(*fanout, "--warmup", o.warmup, "traffic before the measured interval (default 0)");
  fanout->add_option("--room", o.room, "the room (default bench)")->type_name("NAME");

  CLI::App* idle = app.add_subcommand("idle", "connections that join rooms and stay silent: memory per connection");
  CLI::App* connect = app.add_subcommand("connect", "how fast connections are set up and join their rooms");
  for (CLI::App* mode : {idle, connect}) {
    add_common(*mode, o, proto, quickack);
    mode->add_option("--connections", o.connections, "connections to open")->type_name("C")->required();
    mode->add_option("--room-size", o.room_size, "connections per room (default 100)")->type_name("R");
  }
  add_duration(*idle, "--hold", o.hold, "wait between the last join and the memory sample (default 500ms)");

  std::vector<std::string> argv = {"chat-bench"};
  argv.insert(argv.end(), args.begin(), args.end());
  const cli::Parsed parsed = cli::parse(app, argv);
  ParsedOptions result;
  if (parsed.exit) {
    result.status = parsed.status;
    result.output = parsed.out;
    result.error = parsed.error;
    result.hint = parsed.hint;
    return result;
  }
  o.mode = connect->parsed() ? Mode::connect : idle->parsed() ? Mode::idle : Mode::fanout;
  if (std::string error = check(o, proto, quickack); !error.empty()) {
    result.status = cli::exit_usage;
    result.error = std::move(error);
    result.hint = "(chat-bench " + std::string(args.front()) + " --help lists the options)";
    return result;
  }
  result.options = std::move(o);
  return result;
}

}  // namespace corochat::bench
