#include "server/options.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <vector>

#include "corochat/protocol/names.hpp"

namespace corochat::server {
namespace {

// The largest number any setting takes: far beyond any real limit, small
// enough that welcome's signed 64-bit limits and the sizes derived from a
// setting (six bytes per escaped character) cannot overflow.
constexpr std::size_t max_setting = std::numeric_limits<std::int64_t>::max() / 8;

bool parse_size(std::string_view text, std::size_t& out) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max_setting) return false;
  out = value;
  return true;
}

// "120", "120s", "500ms", "2m"; at most a week, so deadlines cannot overflow.
bool parse_duration(std::string_view text, Duration& out) {
  std::size_t unit = text.find_first_not_of("0123456789");
  std::size_t number = 0;
  if (unit == 0 || !parse_size(text.substr(0, unit == std::string_view::npos ? text.size() : unit), number))
    return false;
  std::string_view suffix = unit == std::string_view::npos ? "s" : text.substr(unit);
  std::size_t per_unit = 0;
  if (suffix == "ms") per_unit = 1;
  else if (suffix == "s") per_unit = 1000;
  else if (suffix == "m") per_unit = 60'000;
  else return false;
  constexpr std::size_t week_ms = 7ull * 24 * 3600 * 1000;
  if (number > week_ms / per_unit) return false;
  out = Duration(number * per_unit);
  return true;
}

struct Option {
  std::string_view name;
  std::string_view value_name;  // empty: a flag
  std::string_view help;
  std::function<bool(CommandLine&, std::string_view)> apply;
};

template <class T>
auto size_into(T ServerOptions::*group, std::size_t T::*field) {
  return [group, field](CommandLine& cl, std::string_view v) { return parse_size(v, cl.options.*group.*field); };
}

// A whole number into a rate or burst setting; `positive`: 0 is refused.
constexpr bool positive = true;
template <class T>
auto count_into(T ServerOptions::*group, double T::*field, bool must_be_positive = false) {
  return [group, field, must_be_positive](CommandLine& cl, std::string_view v) {
    std::size_t n = 0;
    if (!parse_size(v, n) || (must_be_positive && n == 0)) return false;
    cl.options.*group.*field = static_cast<double>(n);
    return true;
  };
}

auto duration_into(Duration SessionLimits::*field) {
  return [field](CommandLine& cl, std::string_view v) { return parse_duration(v, cl.options.session.*field); };
}

const std::vector<Option>& options() {
  static const std::vector<Option> list = {
      {"--host", "HOST", "address to listen on; :: serves IPv6 and IPv4 (default ::)",
       [](CommandLine& cl, std::string_view v) { cl.options.host = v; return !v.empty(); }},
      {"--port", "PORT", "TCP port; 0 picks a free one (default 7000)",
       [](CommandLine& cl, std::string_view v) {
         std::size_t p;
         cl.options.port = v;
         return parse_size(v, p) && p <= 65535;
       }},
      {"--tls-cert", "FILE", "serve TLS with this PEM certificate chain (with --tls-key)",
       [](CommandLine& cl, std::string_view v) { cl.options.tls.cert_file = v; return !v.empty(); }},
      {"--tls-key", "FILE", "the PEM private key of --tls-cert; both are reread on SIGHUP",
       [](CommandLine& cl, std::string_view v) { cl.options.tls.key_file = v; return !v.empty(); }},
      {"--tls-port", "PORT", "TLS port, beside the plain one; 0 picks a free one (default 7443)",
       [](CommandLine& cl, std::string_view v) {
         std::size_t p;
         cl.options.tls.port = v;
         return parse_size(v, p) && p <= 65535;
       }},
      {"--no-plain", "", "serve TLS only, no plain TCP port",
       [](CommandLine& cl, std::string_view) { cl.options.plain = false; return true; }},
      {"--tls-handshake-timeout", "DURATION", "time a new TLS connection has to finish its handshake (default 10s)",
       [](CommandLine& cl, std::string_view v) {
         return parse_duration(v, cl.options.tls.handshake_timeout) && cl.options.tls.handshake_timeout.count() > 0;
       }},
      {"--default-room", "ROOM", "room every client joins on hello; empty disables (default lobby)",
       [](CommandLine& cl, std::string_view v) {
         cl.options.state.default_room = v;
         return v.empty() || protocol::is_valid_room(v);
       }},
      {"--max-line", "BYTES", "longest request line, 64 to 16777216 (default 16384)",
       size_into(&ServerOptions::session, &SessionLimits::max_line)},
      {"--max-text", "BYTES", "longest message text (default 4096)",
       size_into(&ServerOptions::state, &StateConfig::max_text)},
      {"--queue-bytes", "BYTES",
       "outgoing queue per connection; a client past it is disconnected; at least the longest line chatd sends "
       "(default 1048576)",
       size_into(&ServerOptions::session, &SessionLimits::queue_bytes)},
      {"--history", "N", "messages kept per room, at most 1000000 (default 100)",
       size_into(&ServerOptions::state, &StateConfig::history)},
      {"--max-rooms", "N", "rooms kept with members or history, besides the default room (default 1000)",
       size_into(&ServerOptions::state, &StateConfig::max_rooms)},
      {"--max-rooms-per-client", "N", "rooms one connection may be in (default 50)",
       size_into(&ServerOptions::state, &StateConfig::max_rooms_per_client)},
      {"--max-rooms-per-ip", "N",
       "rooms the connections from one network may hold, the default room aside; 0 disables (default 100)",
       size_into(&ServerOptions::state, &StateConfig::max_rooms_per_network)},
      {"--flood-rate", "N", "requests a second per connection; 0 disables the flood limit (default 10)",
       count_into(&ServerOptions::session, &SessionLimits::flood_rate)},
      {"--flood-burst", "N", "requests allowed at once above the rate (default 20)",
       count_into(&ServerOptions::session, &SessionLimits::flood_burst, positive)},
      {"--reply-rate", "BYTES", "history, who and rooms reply bytes a second per connection; 0 disables (default 262144)",
       count_into(&ServerOptions::state, &StateConfig::reply_rate)},
      {"--reply-burst", "BYTES", "...allowed at once above that rate (default 2097152)",
       count_into(&ServerOptions::state, &StateConfig::reply_burst, positive)},
      {"--max-per-ip", "N", "open connections per network (IPv4 address, IPv6 prefix); 0 disables (default 16)",
       size_into(&ServerOptions::admission, &AdmissionConfig::max_per_address)},
      {"--ipv6-prefix", "N", "IPv6 addresses sharing their first N bits (1-128) are one network (default 64)",
       [](CommandLine& cl, std::string_view v) {
         std::size_t n = 0;
         if (!parse_size(v, n) || !Admission::valid_ipv6_prefix(n)) return false;
         cl.options.admission.ipv6_prefix = static_cast<unsigned>(n);
         return true;
       }},
      {"--connect-rate", "N", "new connections a second per network; 0 disables (default 4)",
       count_into(&ServerOptions::admission, &AdmissionConfig::connect_rate)},
      {"--connect-burst", "N", "new connections allowed at once above that rate (default 16)",
       count_into(&ServerOptions::admission, &AdmissionConfig::connect_burst, positive)},
      {"--idle-timeout", "DURATION", "silence before the server sends ping (default 120s)",
       duration_into(&SessionLimits::idle)},
      {"--idle-grace", "DURATION", "silence after that ping before closing (default 30s)",
       duration_into(&SessionLimits::idle_grace)},
      {"--registration-timeout", "DURATION", "time to say hello before being closed (default 30s)",
       duration_into(&SessionLimits::registration)},
      {"--close-grace", "DURATION", "time to flush a closing connection, at quit or shutdown (default 5s)",
       duration_into(&SessionLimits::close_grace)},
      {"--password-file", "FILE", "require the password in FILE (first line) in hello",
       [](CommandLine& cl, std::string_view v) {
         std::ifstream in{std::string(v)};
         std::string password;
         if (!in || !std::getline(in, password)) return false;
         if (!password.empty() && password.back() == '\r') password.pop_back();
         cl.options.state.password = password;
         return true;
       }},
      {"--max-clients", "N", "open connections; the next is refused; lowered to fit the descriptor limit (default 10000)",
       [](CommandLine& cl, std::string_view v) { return parse_size(v, cl.options.state.max_clients) && cl.options.state.max_clients > 0; }},
      {"--motd", "TEXT", "message of the day sent in welcome",
       [](CommandLine& cl, std::string_view v) { cl.options.state.motd = v; return true; }},
      {"--threads", "N", "I/O threads; chatd runs on one (see docs/architecture.md)",
       [](CommandLine& cl, std::string_view v) {
         std::size_t n = 0;
         if (!parse_size(v, n) || n != 1) return false;
         cl.options.threads = 1;
         return true;
       }},
      {"--log-level", "LEVEL", "error, warn, info (one line per connect and disconnect) or debug (default warn)",
       [](CommandLine& cl, std::string_view v) { return log::parse_level(v, cl.options.log_level); }},
      {"--help", "", "show this help", [](CommandLine& cl, std::string_view) { return cl.help = true; }},
      {"--version", "", "show the version", [](CommandLine& cl, std::string_view) { return cl.version = true; }},
  };
  return list;
}

}  // namespace

std::size_t longest_line(const StateConfig& state) {
  // JSON escapes a control character as \u0001: six bytes for one. The rest
  // of a line (type, room, nick, seq, ts, an id of up to 64 bytes, escaped
  // too, or the welcome's limits) stays under the allowance.
  constexpr std::size_t escaped = 6;
  constexpr std::size_t other_fields = 1024;
  return escaped * std::max(state.max_text, state.motd.size()) + other_fields;
}

CommandLine parse_command_line(int argc, const char* const* argv) {
  CommandLine cl;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    const Option* option = nullptr;
    for (const auto& o : options())
      if (o.name == arg) option = &o;
    if (!option) {
      cl.error = "unknown option " + std::string(arg);
      return cl;
    }
    if (!option->value_name.empty() && !inline_value) {
      if (i + 1 >= argc) {
        cl.error = std::string(arg) + " needs a value";
        return cl;
      }
      value = argv[++i];
    }
    if (!option->apply(cl, value)) {
      cl.error = "bad value for " + std::string(arg) + ": '" + std::string(value) + "'";
      if (arg == "--threads") cl.error += " (chatd runs its I/O on one thread)";
      return cl;
    }
  }
  const auto& tls = cl.options.tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    cl.error = "--tls-cert and --tls-key go together";
    return cl;
  }
  if (!cl.options.plain && !tls.enabled()) {
    cl.error = "--no-plain needs --tls-cert and --tls-key";
    return cl;
  }
  const auto& s = cl.options.session;
  if (s.max_line < 64 || s.max_line > 16 * 1024 * 1024) {
    cl.error = "--max-line must be from 64 to 16777216 bytes (a hello needs a few dozen)";
    return cl;
  }
  if (cl.options.state.max_text == 0) {
    cl.error = "--max-text must be at least 1";
    return cl;
  }
  if (cl.options.state.history > 1'000'000) {
    cl.error = "--history must be at most 1000000 messages a room";
    return cl;
  }
  if (const std::size_t longest = longest_line(cl.options.state); s.queue_bytes < longest) {
    cl.error = "--queue-bytes " + std::to_string(s.queue_bytes) + " is smaller than the longest line chatd may send (" +
               std::to_string(longest) + " bytes: a message of --max-text bytes, or the welcome with --motd, escaped)";
    return cl;
  }
  // Requests run while the asker's queue is at most half full, and a history
  // reply takes at most a quarter: a quarter is always left for room traffic.
  cl.options.state.max_reply_bytes = std::max<std::size_t>(s.queue_bytes / 4, 1);
  auto& limits = cl.options.state.limits;
  limits.max_line = static_cast<std::int64_t>(s.max_line);
  limits.max_text = static_cast<std::int64_t>(cl.options.state.max_text);
  limits.rate = static_cast<std::int64_t>(s.flood_rate);
  limits.burst = s.flood_rate > 0 ? static_cast<std::int64_t>(s.flood_burst) : 0;
  limits.history = static_cast<std::int64_t>(cl.options.state.history);
  limits.idle = std::chrono::ceil<std::chrono::seconds>(s.idle).count();
  limits.max_rooms_per_client = static_cast<std::int64_t>(cl.options.state.max_rooms_per_client);
  return cl;
}

std::string usage() {
  std::ostringstream out;
  out << "usage: chatd [--host HOST] [--port PORT] [options]\n\n"
         "A chat server speaking newline-delimited JSON (protocol 1).\n"
         "Durations take ms, s or m (default s).\n\noptions:\n";
  for (const auto& o : options()) {
    std::string left = "  " + std::string(o.name);
    if (!o.value_name.empty()) left += " " + std::string(o.value_name);
    out << left;
    out << std::string(left.size() < 32 ? 32 - left.size() : 1, ' ') << o.help << '\n';
  }
  return out.str();
}

}  // namespace corochat::server
