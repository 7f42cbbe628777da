#include "options.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>

#include "payload.hpp"

namespace corochat::bench {
namespace {

bool parse_count(std::string_view text, std::size_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

bool parse_seconds(std::string_view text, double& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && std::isfinite(out) && out >= 0;
}

}  // namespace

std::string usage() {
  return R"(usage:
  chat-bench fanout  --proto P --host H --port N --subscribers N --publishers P --payload BYTES
                     (--window W | --rate MSGS_PER_S) --duration SECS [--warmup SECS]
                     [--room NAME] [--server-pid PID] [--json]
  chat-bench idle    --proto P --host H --port N --connections C --room-size R [--hold SECS]
                     [--server-pid PID] [--json]
  chat-bench connect --proto P --host H --port N --connections C --room-size R [--server-pid PID] [--json]
protocols: corochat, irc, nats, redis, lines
other options: --concurrency N (connections set up at once, default 200),
  --quickack / --no-quickack (acknowledge every read at once; default on for irc, nats, redis),
  --nick-prefix TEXT (default cb),
  --irc-oper NAME:PASSWORD (irc publishers OPER and set user mode +F: ngIRCd's flood relief),
  --tls, --ca FILE (implies --tls), --insecure (implies --tls; no certificate check): corochat over TLS
)";
}

ParsedOptions parse_options(const std::vector<std::string_view>& args) {
  ParsedOptions result;
  auto fail = [&](std::string message) {
    result.error = std::move(message);
    return result;
  };
  if (args.empty()) return fail("a mode is required: fanout, idle or connect");
  if (args[0] == "--help" || args[0] == "-h") return result;
  Options o;
  if (args[0] == "fanout") o.mode = Mode::fanout;
  else if (args[0] == "idle") o.mode = Mode::idle;
  else if (args[0] == "connect") o.mode = Mode::connect;
  else return fail("unknown mode '" + std::string(args[0]) + "'");

  std::optional<bool> quickack;
  bool have_proto = false;
  using Apply = std::function<bool(std::string_view)>;
  auto count = [](std::size_t& field) { return Apply([&field](std::string_view v) { return parse_count(v, field); }); };
  auto seconds = [](double& field) { return Apply([&field](std::string_view v) { return parse_seconds(v, field); }); };
  auto text = [](std::string& field) {
    return Apply([&field](std::string_view v) { field = v; return !v.empty(); });
  };
  const std::map<std::string_view, Apply> valued = {
      {"--proto",
       [&](std::string_view v) {
         auto kind = protocol_from_name(v);
         if (kind) o.protocol = *kind;
         have_proto = kind.has_value();
         return have_proto;
       }},
      {"--host", text(o.host)},
      {"--port", text(o.port)},
      {"--subscribers", count(o.subscribers)},
      {"--publishers", count(o.publishers)},
      {"--payload", count(o.payload)},
      {"--window", count(o.window)},
      {"--rate", seconds(o.rate)},
      {"--duration", seconds(o.duration)},
      {"--warmup", seconds(o.warmup)},
      {"--room", text(o.room)},
      {"--connections", count(o.connections)},
      {"--room-size", count(o.room_size)},
      {"--concurrency", count(o.concurrency)},
      {"--hold", seconds(o.hold)},
      {"--nick-prefix", text(o.nick_prefix)},
      {"--irc-oper", [&](std::string_view v) {
         o.irc_oper = v;
         const std::size_t colon = v.find(':');
         return colon != std::string_view::npos && colon > 0 && colon + 1 < v.size();
       }},
      {"--server-pid",
       [&](std::string_view v) {
         std::size_t pid = 0;
         if (!parse_count(v, pid) || pid == 0 || pid > 0x3fffffff) return false;
         o.server_pid = static_cast<int>(pid);
         return true;
       }},
  };
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--json") o.json = true;
    else if (arg == "--quickack") quickack = true;
    else if (arg == "--no-quickack") quickack = false;
    else if (arg == "--tls") o.tls = true;
    else if (arg == "--insecure") o.tls = o.insecure = true;
    else if (arg == "--ca") {
      if (i + 1 >= args.size()) return fail("--ca needs a value");
      o.ca_file = std::string(args[++i]);
      o.tls = true;
    }
    else if (arg == "--help" || arg == "-h") return ParsedOptions{};
    else if (auto it = valued.find(arg); it != valued.end()) {
      if (i + 1 >= args.size()) return fail(std::string(arg) + " needs a value");
      if (!it->second(args[++i])) return fail("bad value for " + std::string(arg) + ": '" + std::string(args[i]) + "'");
    } else {
      return fail("unknown option '" + std::string(arg) + "'");
    }
  }

  if (!have_proto) return fail("--proto is required (corochat, irc, nats, redis, lines)");
  if (o.port.empty()) return fail("--port is required");
  o.quickack = quickack.value_or(quickack_by_default(o.protocol));
  if (o.tls && o.protocol != ProtocolKind::corochat) return fail("--tls is for --proto corochat");
  if (o.concurrency == 0) return fail("--concurrency must be at least 1");
  if (o.mode == Mode::fanout) {
    if (o.subscribers == 0) return fail("--subscribers must be at least 1");
    if (o.publishers == 0 || o.publishers > max_publisher + 1) return fail("--publishers must be 1 to 65536");
    if (o.payload < payload_header_size)
      return fail("--payload must be at least " + std::to_string(payload_header_size) + " bytes");
    if (o.protocol == ProtocolKind::irc && o.payload > 400)
      return fail("--payload must be at most 400 bytes for irc (512-byte lines)");
    if ((o.window > 0) == (o.rate > 0)) return fail("give exactly one of --window W or --rate MSGS_PER_S");
    if (o.duration <= 0) return fail("--duration must be more than 0");
  } else {
    if (o.connections == 0) return fail("--connections must be at least 1");
    if (o.room_size == 0) return fail("--room-size must be at least 1");
  }
  result.options = std::move(o);
  return result;
}

}  // namespace corochat::bench
