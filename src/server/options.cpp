#include "server/options.hpp"

#include <array>
#include <charconv>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <type_traits>
#include <vector>

#include "corochat/protocol/names.hpp"

namespace corochat::server {
namespace {

bool parse_size(std::string_view text, std::size_t& out) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max_setting) return false;
  out = value;
  return true;
}

// "120", "120s", "500ms", "2m"; at most max_duration.
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
  if (number > static_cast<std::size_t>(max_duration.count()) / per_unit) return false;
  out = Duration(number * per_unit);
  return true;
}

constexpr std::array<std::string_view, 4> log_level_names = {"error", "warn", "info", "debug"};

std::string size_text(std::size_t n) { return std::to_string(n); }
std::string milliseconds_text(std::size_t ms) { return duration_text(Duration(ms)); }

// Where an option's value goes in the configuration, and how it is shown.
struct Setting {
  // Parses `text` into the command line; false: not a value of this kind.
  // A numeric setting also gives the number, in its unit, for the range check.
  std::function<bool(CommandLine&, std::string_view text, std::size_t& number)> parse;
  // The setting's value as the parser reads it; not set, or empty text:
  // nothing to state as the default.
  std::function<std::string(const ServerConfig&)> show;
  // A number of this setting as text, for its range; null: not numeric.
  std::string (*number_text)(std::size_t) = nullptr;
};

// One option: what the command line, --help and a configuration file need
// (a file's key would be the name without "--").
struct Option {
  std::string_view name;
  std::string_view value_name;  // empty: a flag
  std::string_view help;
  std::optional<Range> range;  // numeric settings only
  Setting setting;
};

// `field(config)` is the setting's place in a ServerConfig, const or not:
// [](auto& c) -> auto& { return c.connection.max_line; }

template <class Field>
Setting size_setting(Field field) {
  return {[field](CommandLine& cl, std::string_view v, std::size_t& n) {
            if (!parse_size(v, n)) return false;
            field(cl.config) = static_cast<std::remove_reference_t<decltype(field(cl.config))>>(n);
            return true;
          },
          [field](const ServerConfig& c) { return std::to_string(field(c)); }, &size_text};
}

// A whole number into a rate or burst.
template <class Field>
Setting count_setting(Field field) {
  return {[field](CommandLine& cl, std::string_view v, std::size_t& n) {
            if (!parse_size(v, n)) return false;
            field(cl.config) = static_cast<double>(n);
            return true;
          },
          [field](const ServerConfig& c) { return std::to_string(static_cast<std::size_t>(field(c))); },
          &size_text};
}

template <class Field>
Setting duration_setting(Field field) {
  return {[field](CommandLine& cl, std::string_view v, std::size_t& n) {
            if (!parse_duration(v, field(cl.config))) return false;
            n = static_cast<std::size_t>(field(cl.config).count());
            return true;
          },
          [field](const ServerConfig& c) { return duration_text(field(c)); }, &milliseconds_text};
}

// A port number, kept as text for the resolver.
template <class Field>
Setting port_setting(Field field) {
  return {[field](CommandLine& cl, std::string_view v, std::size_t& n) {
            field(cl.config) = v;
            return parse_size(v, n);
          },
          [field](const ServerConfig& c) { return field(c); }, &size_text};
}

// Text that `valid` accepts.
template <class Field>
Setting text_setting(Field field, bool (*valid)(std::string_view)) {
  return {[field, valid](CommandLine& cl, std::string_view v, std::size_t&) {
            field(cl.config) = v;
            return valid(v);
          },
          [field](const ServerConfig& c) { return std::string(field(c)); }};
}

bool any_text(std::string_view) { return true; }
bool not_empty(std::string_view v) { return !v.empty(); }
bool valid_room(std::string_view v) { return protocol::is_valid_room(v); }
bool room_or_empty(std::string_view v) { return v.empty() || protocol::is_valid_room(v); }

// An option that sets something once given, with no value.
Setting flag(void (*set)(CommandLine&)) {
  return {[set](CommandLine& cl, std::string_view, std::size_t&) {
            set(cl);
            return true;
          },
          {}};
}

const std::vector<Option>& options() {
  static const std::vector<Option> list = {
      {"--host", "HOST", "address to listen on; :: serves IPv6 and IPv4", {},
       text_setting([](auto& c) -> auto& { return c.host; }, not_empty)},
      {"--port", "PORT", "TCP port; 0 picks a free one", ranges::port,
       port_setting([](auto& c) -> auto& { return c.port; })},
      {"--tls-cert", "FILE", "serve TLS with this PEM certificate chain (with --tls-key)", {},
       text_setting([](auto& c) -> auto& { return c.tls.cert_file; }, not_empty)},
      {"--tls-key", "FILE", "the PEM private key of --tls-cert; both are reread on SIGHUP", {},
       text_setting([](auto& c) -> auto& { return c.tls.key_file; }, not_empty)},
      {"--tls-port", "PORT", "TLS port, beside the plain one; 0 picks a free one", ranges::port,
       port_setting([](auto& c) -> auto& { return c.tls.port; })},
      {"--no-plain", "", "serve TLS only, no plain TCP port", {},
       flag([](CommandLine& cl) { cl.config.plain = false; })},
      {"--tls-handshake-timeout", "DURATION", "time a new TLS connection has to finish its handshake",
       ranges::at_least_one, duration_setting([](auto& c) -> auto& { return c.tls.handshake_timeout; })},
      {"--default-room", "ROOM", "room every client joins on hello; empty disables", {},
       text_setting([](auto& c) -> auto& { return c.state.default_room; }, room_or_empty)},
      {"--max-line", "BYTES", "longest request line", ranges::max_line,
       size_setting([](auto& c) -> auto& { return c.connection.max_line; })},
      {"--max-text", "BYTES", "longest message text", ranges::at_least_one,
       size_setting([](auto& c) -> auto& { return c.state.max_text; })},
      {"--queue-bytes", "BYTES",
       "outgoing queue per connection; a client past it is disconnected; at least the longest line chatd sends",
       {}, size_setting([](auto& c) -> auto& { return c.connection.queue_bytes; })},
      {"--history", "N", "messages kept per room", ranges::history,
       size_setting([](auto& c) -> auto& { return c.state.history; })},
      {"--max-rooms", "N", "rooms kept with members or history, besides the default room", {},
       size_setting([](auto& c) -> auto& { return c.state.max_rooms; })},
      {"--max-rooms-per-client", "N", "rooms one connection may be in", {},
       size_setting([](auto& c) -> auto& { return c.state.max_rooms_per_client; })},
      {"--max-rooms-per-ip", "N", "rooms the connections from one network may hold, the default room aside; 0 disables",
       {}, size_setting([](auto& c) -> auto& { return c.state.max_rooms_per_network; })},
      {"--flood-rate", "N", "requests a second per connection; 0 disables the flood limit", {},
       count_setting([](auto& c) -> auto& { return c.connection.flood_rate; })},
      {"--flood-burst", "N", "requests allowed at once above the rate", ranges::at_least_one,
       count_setting([](auto& c) -> auto& { return c.connection.flood_burst; })},
      {"--reply-rate", "BYTES", "history, who and rooms reply bytes a second per connection; 0 disables", {},
       count_setting([](auto& c) -> auto& { return c.state.reply_rate; })},
      {"--reply-burst", "BYTES", "...allowed at once above that rate", ranges::at_least_one,
       count_setting([](auto& c) -> auto& { return c.state.reply_burst; })},
      {"--max-per-ip", "N", "open connections per network (IPv4 address, IPv6 prefix); 0 disables", {},
       size_setting([](auto& c) -> auto& { return c.admission.max_per_address; })},
      {"--ipv6-prefix", "N", "IPv6 addresses sharing their first N bits are one network", ranges::ipv6_prefix,
       size_setting([](auto& c) -> auto& { return c.admission.ipv6_prefix; })},
      {"--connect-rate", "N", "new connections a second per network; 0 disables", {},
       count_setting([](auto& c) -> auto& { return c.admission.connect_rate; })},
      {"--connect-burst", "N", "new connections allowed at once above that rate", ranges::at_least_one,
       count_setting([](auto& c) -> auto& { return c.admission.connect_burst; })},
      {"--idle-timeout", "DURATION", "silence before the server sends ping", {},
       duration_setting([](auto& c) -> auto& { return c.connection.idle; })},
      {"--idle-grace", "DURATION", "silence after that ping before closing", {},
       duration_setting([](auto& c) -> auto& { return c.connection.idle_grace; })},
      {"--registration-timeout", "DURATION", "time to say hello before being closed", {},
       duration_setting([](auto& c) -> auto& { return c.connection.registration; })},
      {"--close-grace", "DURATION", "time to flush a closing connection, at quit or shutdown", {},
       duration_setting([](auto& c) -> auto& { return c.connection.close_grace; })},
      {"--password-file", "FILE", "require the password in FILE (first line) in hello", {},
       {[](CommandLine& cl, std::string_view v, std::size_t&) {
         std::ifstream in{std::string(v)};
         std::string password;
         if (!in || !std::getline(in, password)) return false;
         if (!password.empty() && password.back() == '\r') password.pop_back();
         cl.config.state.password = password;
         return true;
       },
        {}}},
      {"--max-clients", "N", "open connections; the next is refused; lowered to fit the descriptor limit",
       ranges::at_least_one, size_setting([](auto& c) -> auto& { return c.state.max_clients; })},
      {"--motd", "TEXT", "message of the day sent in welcome", {},
       text_setting([](auto& c) -> auto& { return c.state.motd; }, any_text)},
      {"--threads", "N", "I/O threads; see docs/architecture.md", ranges::threads,
       size_setting([](auto& c) -> auto& { return c.threads; })},
      {"--log-level", "LEVEL", "error, warn, info (one line per connect and disconnect) or debug", {},
       {[](CommandLine& cl, std::string_view v, std::size_t&) { return log::parse_level(v, cl.config.log_level); },
        [](const ServerConfig& c) { return std::string(log_level_names.at(static_cast<std::size_t>(c.log_level))); }}},
      {"--metrics", "HOST:PORT", "serve /metrics (Prometheus) and /healthz over HTTP; a port alone: 127.0.0.1; off by default",
       {},
       {[](CommandLine& cl, std::string_view v, std::size_t&) { return (cl.config.metrics = metrics::parse_endpoint(v)).has_value(); },
        {}}},
      {"--store", "KIND", "sqlite: history, seqs and resume tokens survive a restart, in --data-dir; memory: nothing is kept",
       {},
       {[](CommandLine& cl, std::string_view v, std::size_t&) {
          if (v == "sqlite") cl.config.store.kind = StoreKind::sqlite;
          else if (v == "memory") cl.config.store.kind = StoreKind::memory;
          else return false;
          return true;
        },
        [](const ServerConfig& c) { return std::string(c.store.kind == StoreKind::sqlite ? "sqlite" : "memory"); }}},
      {"--data-dir", "DIR", "directory of the sqlite store (created 0700); a service would use /var/lib/chatd", {},
       text_setting([](auto& c) -> auto& { return c.store.data_dir; }, not_empty)},
      {"--sync", "MODE",
       "normal: a message is committed once the OS has it (survives a crash of chatd); full: once it is on disk "
       "(survives a power loss, slower)",
       {},
       {[](CommandLine& cl, std::string_view v, std::size_t&) {
          if (v == "normal") cl.config.store.sync = store::Sync::normal;
          else if (v == "full") cl.config.store.sync = store::Sync::full;
          else return false;
          return true;
        },
        [](const ServerConfig& c) { return std::string(c.store.sync == store::Sync::normal ? "normal" : "full"); }}},
      {"--retain-messages", "N", "messages kept per room in the store; 0: no count limit", {},
       size_setting([](auto& c) -> auto& { return c.store.retention.retain_messages; })},
      {"--retain-days", "D", "days a stored message is kept; 0: forever", ranges::retain_days,
       size_setting([](auto& c) -> auto& { return c.store.retention.retain_days; })},
      {"--export-history", "ROOM", "print ROOM's stored messages as JSON lines, oldest first, and exit", {},
       text_setting([](auto& c) -> auto& { return c.store.export_room; }, valid_room)},
      // For tests: a full disk on demand. Left out of --help.
      {"--store-max-pages", "N", "", {}, size_setting([](auto& c) -> auto& { return c.store.max_pages; })},
      {"--help", "", "show this help", {}, flag([](CommandLine& cl) { cl.help = true; })},
      {"--version", "", "show the version", {}, flag([](CommandLine& cl) { cl.version = true; })},
  };
  return list;
}

// "from 64 to 16777216", "at least 1", "at most 1000000", "exactly 1".
std::string bounds_text(const Range& range, std::string (*number_text)(std::size_t)) {
  if (range.min == range.max) return "exactly " + number_text(range.min);
  if (range.max == max_setting) return "at least " + number_text(range.min);
  if (range.min == 0) return "at most " + number_text(range.max);
  return "from " + number_text(range.min) + " to " + number_text(range.max);
}

// "--max-line must be from 64 to 16777216 bytes (a hello needs a few dozen)"
std::string range_error(const Option& option) {
  const Range& range = *option.range;
  std::string error = std::string(option.name) + " must be " + bounds_text(range, option.setting.number_text);
  if (option.value_name == "BYTES") error += (range.max == max_setting ? range.min : range.max) == 1 ? " byte" : " bytes";
  if (!range.why.empty()) error += " (" + std::string(range.why) + ")";
  return error;
}

}  // namespace

std::string duration_text(Duration duration) {
  const auto ms = duration.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
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
    std::size_t number = 0;
    if (!option->setting.parse(cl, value, number)) {
      cl.error = "bad value for " + std::string(arg) + ": '" + std::string(value) + "'";
      return cl;
    }
    if (option->range && (number < option->range->min || number > option->range->max)) {
      cl.error = range_error(*option);
      return cl;
    }
  }
  const auto& tls = cl.config.tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    cl.error = "--tls-cert and --tls-key go together";
    return cl;
  }
  if (!cl.config.plain && !tls.enabled()) {
    cl.error = "--no-plain needs --tls-cert and --tls-key";
    return cl;
  }
  const auto& c = cl.config.connection;
  if (const std::size_t longest = longest_line(cl.config.state); c.queue_bytes < longest) {
    cl.error = "--queue-bytes " + std::to_string(c.queue_bytes) + " is smaller than the longest line chatd may send (" +
               std::to_string(longest) + " bytes: a message of --max-text bytes, or the welcome with --motd, escaped)";
    return cl;
  }
  derive_settings(cl.config);
  return cl;
}

std::string usage() {
  const ServerConfig defaults;
  std::ostringstream out;
  out << "usage: chatd [--host HOST] [--port PORT] [options]\n\n"
         "A chat server speaking newline-delimited JSON (protocol 1).\n"
         "Durations take ms, s or m (default s).\n\noptions:\n";
  for (const auto& o : options()) {
    if (o.help.empty()) continue;  // an option for tests
    std::string left = "  " + std::string(o.name);
    if (!o.value_name.empty()) left += " " + std::string(o.value_name);
    std::string help(o.help);
    const std::string default_text = o.setting.show ? o.setting.show(defaults) : std::string();
    std::vector<std::string> notes;
    if (o.range) notes.push_back(bounds_text(*o.range, o.setting.number_text));
    if (!default_text.empty()) notes.push_back("default " + default_text);
    if (!notes.empty()) {
      help += " (" + notes.front();
      for (std::size_t i = 1; i < notes.size(); ++i) help += "; " + notes[i];
      help += ")";
    }
    out << left << std::string(left.size() < 32 ? 32 - left.size() : 1, ' ') << help << '\n';
  }
  return out.str();
}

}  // namespace corochat::server
