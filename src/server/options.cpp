#include "server/options.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <charconv>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include "cli/command_line.hpp"
#include "corochat/protocol/names.hpp"

#ifndef COROCHAT_VERSION
#define COROCHAT_VERSION "0.0.0"
#endif

namespace corochat::server {
namespace {

bool parse_size(std::string_view text, std::size_t& out) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max_setting) return false;
  out = value;
  return true;
}

constexpr std::array<std::string_view, 4> log_level_names = {"error", "warn", "info", "debug"};

std::string size_text(std::size_t n) { return std::to_string(n); }
std::string milliseconds_text(std::size_t ms) { return duration_text(Duration(ms)); }

// How a setting's value is written in a configuration file.
enum class TomlKind { text, number, boolean };

// Where an option's value goes in the configuration, and how it is shown.
struct Setting {
  // Parses `text` into the configuration; false: not a value of this kind
  // (`why` may say more). A numeric setting also gives the number, in its
  // unit, for the range check.
  std::function<bool(ServerConfig&, std::string_view text, std::size_t& number, std::string& why)> parse;
  // The setting's value as the parser reads it; nullopt: not set.
  std::function<std::optional<std::string>(const ServerConfig&)> show;
  // A number of this setting as text, for its range; null: not numeric.
  std::string (*number_text)(std::size_t) = nullptr;
  TomlKind kind = TomlKind::text;
};

// One option: what the command line, --help and a configuration file need.
// The file's key is the name without "--". To add one: an entry here, its
// field and default in config.hpp, and `Reload::live` only if the running
// server picks it up (take_live_settings and Server::reload).
struct Option {
  std::string_view name;
  std::string_view value_name;  // empty: a flag
  std::string_view help;        // empty: left out of --help (for tests)
  std::optional<Range> range;   // numeric settings only
  Setting setting;
  Reload reload = Reload::restart;
  bool in_file = true;  // false: an action for the command line only
};

// `field(config)` is the setting's place in a ServerConfig, const or not:
// [](auto& c) -> auto& { return c.connection.max_line; }

template <class Field>
Setting size_setting(Field field) {
  return {[field](ServerConfig& c, std::string_view v, std::size_t& n, std::string&) {
            if (!parse_size(v, n)) return false;
            field(c) = static_cast<std::remove_reference_t<decltype(field(c))>>(n);
            return true;
          },
          [field](const ServerConfig& c) { return std::optional(std::to_string(field(c))); }, &size_text,
          TomlKind::number};
}

// A whole number into a rate or burst.
template <class Field>
Setting count_setting(Field field) {
  return {[field](ServerConfig& c, std::string_view v, std::size_t& n, std::string&) {
            if (!parse_size(v, n)) return false;
            field(c) = static_cast<double>(n);
            return true;
          },
          [field](const ServerConfig& c) { return std::optional(std::to_string(static_cast<std::size_t>(field(c)))); },
          &size_text, TomlKind::number};
}

// "500ms", "30s", "2m" or "0"; at most max_duration.
template <class Field>
Setting duration_setting(Field field) {
  return {[field](ServerConfig& c, std::string_view v, std::size_t& n, std::string& why) {
            const auto duration = cli::parse_duration(v, why);
            if (!duration) return false;
            if (*duration > max_duration) {
              why = "at most " + duration_text(max_duration);
              return false;
            }
            field(c) = *duration;
            n = static_cast<std::size_t>(duration->count());
            return true;
          },
          [field](const ServerConfig& c) { return std::optional(duration_text(field(c))); }, &milliseconds_text};
}

// A port number, kept as text for the resolver.
template <class Field>
Setting port_setting(Field field) {
  return {[field](ServerConfig& c, std::string_view v, std::size_t& n, std::string&) {
            field(c) = v;
            return parse_size(v, n);
          },
          [field](const ServerConfig& c) { return std::optional(field(c)); }, &size_text, TomlKind::number};
}

// Text that `valid` accepts; empty text that it refuses is "not set".
template <class Field>
Setting text_setting(Field field, bool (*valid)(std::string_view)) {
  return {[field, valid](ServerConfig& c, std::string_view v, std::size_t&, std::string&) {
            field(c) = v;
            return valid(v);
          },
          [field, valid](const ServerConfig& c) -> std::optional<std::string> {
            if (field(c).empty() && !valid("")) return std::nullopt;
            return std::string(field(c));
          }};
}

bool any_text(std::string_view) { return true; }
bool not_empty(std::string_view v) { return !v.empty(); }
bool valid_room(std::string_view v) { return protocol::is_valid_room(v); }
bool room_or_empty(std::string_view v) { return v.empty() || protocol::is_valid_room(v); }

// A flag: "true" sets it; in a file `false` leaves the default.
template <class Field>
Setting flag_setting(Field field, bool value_when_given) {
  return {[field, value_when_given](ServerConfig& c, std::string_view v, std::size_t&, std::string&) {
            if (v != "true" && v != "false") return false;
            field(c) = v == "true" ? value_when_given : !value_when_given;
            return true;
          },
          [field, value_when_given](const ServerConfig& c) {
            return std::optional<std::string>(field(c) == value_when_given ? "true" : "false");
          },
          nullptr, TomlKind::boolean};
}

// One of a few words.
template <class Field, class Value, std::size_t N>
Setting choice_setting(Field field, std::array<std::pair<std::string_view, Value>, N> words) {
  return {[field, words](ServerConfig& c, std::string_view v, std::size_t&, std::string& why) {
            for (const auto& [word, value] : words)
              if (v == word) {
                field(c) = value;
                return true;
              }
            why = "one of";
            for (const auto& [word, value] : words) why += " " + std::string(word);
            return false;
          },
          [field, words](const ServerConfig& c) -> std::optional<std::string> {
            for (const auto& [word, value] : words)
              if (field(c) == value) return std::string(word);
            return std::nullopt;
          }};
}

// The password file: the path is kept (to read it again on reload), the
// password on its first line is what hello is checked against.
Setting password_setting() {
  return {[](ServerConfig& c, std::string_view v, std::size_t&, std::string& why) {
            c.password_file = v;
            std::ifstream in{std::string(v)};
            std::string password;
            if (!in || !std::getline(in, password)) {
              why = "cannot read a password from it";
              return false;
            }
            if (!password.empty() && password.back() == '\r') password.pop_back();
            c.state.password = password;
            return true;
          },
          [](const ServerConfig& c) -> std::optional<std::string> {
            if (c.password_file.empty()) return std::nullopt;
            return c.password_file;
          }};
}

const std::vector<Option>& options() {
  using enum Reload;
  static const std::vector<Option> list = {
      {"--host", "HOST", "address to listen on; :: serves IPv6 and IPv4", {},
       text_setting([](auto& c) -> auto& { return c.host; }, not_empty)},
      {"--port", "PORT", "TCP port; 0 picks a free one", ranges::port,
       port_setting([](auto& c) -> auto& { return c.port; })},
      {"--tls-cert", "FILE", "serve TLS with this PEM certificate chain (with --tls-key)", {},
       text_setting([](auto& c) -> auto& { return c.tls.cert_file; }, not_empty), live},
      {"--tls-key", "FILE", "the PEM private key of --tls-cert; both are reread on SIGHUP", {},
       text_setting([](auto& c) -> auto& { return c.tls.key_file; }, not_empty), live},
      {"--tls-port", "PORT", "TLS port, beside the plain one; 0 picks a free one", ranges::port,
       port_setting([](auto& c) -> auto& { return c.tls.port; })},
      {"--no-plain", "", "serve TLS only, no plain TCP port", {},
       flag_setting([](auto& c) -> auto& { return c.plain; }, false)},
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
       count_setting([](auto& c) -> auto& { return c.connection.flood_rate; }), live},
      {"--flood-burst", "N", "requests allowed at once above the rate", ranges::at_least_one,
       count_setting([](auto& c) -> auto& { return c.connection.flood_burst; }), live},
      {"--reply-rate", "BYTES", "history, who and rooms reply bytes a second per connection; 0 disables", {},
       count_setting([](auto& c) -> auto& { return c.state.reply_rate; })},
      {"--reply-burst", "BYTES", "...allowed at once above that rate", ranges::at_least_one,
       count_setting([](auto& c) -> auto& { return c.state.reply_burst; })},
      {"--max-per-ip", "N", "open connections per network (IPv4 address, IPv6 prefix); 0 disables", {},
       size_setting([](auto& c) -> auto& { return c.admission.max_per_address; }), live},
      {"--ipv6-prefix", "N", "IPv6 addresses sharing their first N bits are one network", ranges::ipv6_prefix,
       size_setting([](auto& c) -> auto& { return c.admission.ipv6_prefix; })},
      {"--connect-rate", "N", "new connections a second per network; 0 disables", {},
       count_setting([](auto& c) -> auto& { return c.admission.connect_rate; }), live},
      {"--connect-burst", "N", "new connections allowed at once above that rate", ranges::at_least_one,
       count_setting([](auto& c) -> auto& { return c.admission.connect_burst; }), live},
      {"--idle-timeout", "DURATION", "silence before the server sends ping", {},
       duration_setting([](auto& c) -> auto& { return c.connection.idle; })},
      {"--idle-grace", "DURATION", "silence after that ping before closing", {},
       duration_setting([](auto& c) -> auto& { return c.connection.idle_grace; })},
      {"--registration-timeout", "DURATION", "time to say hello before being closed", {},
       duration_setting([](auto& c) -> auto& { return c.connection.registration; })},
      {"--close-grace", "DURATION", "time to flush a closing connection, at quit or shutdown", {},
       duration_setting([](auto& c) -> auto& { return c.connection.close_grace; })},
      {"--password-file", "FILE", "require the password in FILE (first line) in hello; reread on SIGHUP", {},
       password_setting(), live},
      {"--max-clients", "N", "open connections; the next is refused; lowered to fit the descriptor limit",
       ranges::at_least_one, size_setting([](auto& c) -> auto& { return c.state.max_clients; })},
      {"--motd", "TEXT", "message of the day sent in welcome", {},
       text_setting([](auto& c) -> auto& { return c.state.motd; }, any_text), live},
      {"--threads", "N", "I/O threads; see docs/architecture.md", ranges::threads,
       size_setting([](auto& c) -> auto& { return c.threads; })},
      {"--log-level", "LEVEL", "error, warn, info (one line per connect and disconnect) or debug", {},
       choice_setting([](auto& c) -> auto& { return c.log_level; },
                      std::array<std::pair<std::string_view, log::Level>, 4>{{{"error", log::Level::error},
                                                                                {"warn", log::Level::warn},
                                                                                {"info", log::Level::info},
                                                                                {"debug", log::Level::debug}}}),
       live},
      {"--metrics", "HOST:PORT", "serve /metrics (Prometheus) and /healthz over HTTP; a port alone: 127.0.0.1; off by default",
       {},
       {[](ServerConfig& c, std::string_view v, std::size_t&, std::string& why) {
          c.metrics = metrics::parse_endpoint(v);
          if (!c.metrics) why = "HOST:PORT or a port";
          return c.metrics.has_value();
        },
        [](const ServerConfig& c) -> std::optional<std::string> {
          if (!c.metrics) return std::nullopt;
          return c.metrics->host + ":" + c.metrics->port;
        }}},
      {"--store", "KIND", "sqlite: history, seqs and resume tokens survive a restart, in --data-dir; memory: nothing is kept",
       {},
       choice_setting([](auto& c) -> auto& { return c.store.kind; },
                      std::array<std::pair<std::string_view, StoreKind>, 2>{
                          {{"sqlite", StoreKind::sqlite}, {"memory", StoreKind::memory}}})},
      {"--data-dir", "DIR", "directory of the sqlite store (created 0700); a service would use /var/lib/chatd", {},
       text_setting([](auto& c) -> auto& { return c.store.data_dir; }, not_empty)},
      {"--sync", "MODE",
       "normal: a message is committed once the OS has it (survives a crash of chatd); full: once it is on disk "
       "(survives a power loss, slower)",
       {},
       choice_setting([](auto& c) -> auto& { return c.store.sync; },
                      std::array<std::pair<std::string_view, store::Sync>, 2>{
                          {{"normal", store::Sync::normal}, {"full", store::Sync::full}}})},
      {"--retain-messages", "N", "messages kept per room in the store; 0: no count limit", {},
       size_setting([](auto& c) -> auto& { return c.store.retention.retain_messages; })},
      {"--retain-days", "D", "days a stored message is kept; 0: forever", ranges::retain_days,
       size_setting([](auto& c) -> auto& { return c.store.retention.retain_days; })},
      {"--export-history", "ROOM", "print ROOM's stored messages as JSON lines, oldest first, and exit", {},
       text_setting([](auto& c) -> auto& { return c.store.export_room; }, valid_room), restart, false},
      // For tests: a full disk on demand. Left out of --help and of files.
      {"--store-max-pages", "N", "", {}, size_setting([](auto& c) -> auto& { return c.store.max_pages; }), restart,
       false},
  };
  return list;
}

const Option* find_option(std::string_view key) {
  for (const auto& o : options())
    if (o.name.substr(2) == key) return &o;
  return nullptr;
}

// "from 64 to 16777216", "at least 1", "at most 1000000", "exactly 1".
std::string bounds_text(const Range& range, std::string (*number_text)(std::size_t)) {
  if (range.min == range.max) return "exactly " + number_text(range.min);
  if (range.max == max_setting) return "at least " + number_text(range.min);
  if (range.min == 0) return "at most " + number_text(range.max);
  return "from " + number_text(range.min) + " to " + number_text(range.max);
}

// "--max-line must be from 64 to 16777216 bytes (a hello needs a few dozen)"
std::string range_error(const Option& option, std::string_view shown_name) {
  const Range& range = *option.range;
  std::string error = std::string(shown_name) + " must be " + bounds_text(range, option.setting.number_text);
  if (option.value_name == "BYTES") error += (range.max == max_setting ? range.min : range.max) == 1 ? " byte" : " bytes";
  if (!range.why.empty()) error += " (" + std::string(range.why) + ")";
  return error;
}

// Sets one option; the error names it as `shown_name` ("--port" on the
// command line, "port" in a file).
std::string apply(ServerConfig& config, const Option& option, std::string_view value, std::string_view shown_name) {
  std::size_t number = 0;
  std::string why;
  if (!option.setting.parse(config, value, number, why)) {
    std::string error = "bad value for " + std::string(shown_name) + ": '" + std::string(value) + "'";
    if (!why.empty()) error += " (" + why + ")";
    return error;
  }
  if (option.range && (number < option.range->min || number > option.range->max))
    return range_error(option, shown_name);
  return {};
}

// The checks between settings, once all are read.
std::string check_together(const ServerConfig& config) {
  const auto& tls = config.tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) return "--tls-cert and --tls-key go together";
  if (!config.plain && !tls.enabled()) return "--no-plain needs --tls-cert and --tls-key";
  const auto& c = config.connection;
  if (const std::size_t longest = longest_line(config.state); c.queue_bytes < longest)
    return "--queue-bytes " + std::to_string(c.queue_bytes) + " is smaller than the longest line chatd may send (" +
           std::to_string(longest) + " bytes: a message of --max-text bytes, or the welcome with --motd, escaped)";
  return {};
}

// "FILE:LINE"
std::string where(const std::string& file, const toml::source_region& source) {
  return file + ":" + std::to_string(source.begin.line);
}

// A file's value as the text an option parses; nullopt: the wrong type.
std::optional<std::string> value_text(const toml::node& node, const Option& option) {
  if (option.setting.kind == TomlKind::boolean) {
    if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
    return std::nullopt;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  return std::nullopt;
}

std::string read_file_settings(ServerConfig& config, const std::string& file) {
  toml::table table;
  try {
    table = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    if (e.source().begin.line == 0) return file + ": cannot read: " + std::string(e.description());
    return where(file, e.source()) + ": " + std::string(e.description());
  }
  // In the file's order, so that the first mistake is the one reported.
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [key, node] : table) entries.emplace_back(std::string(key.str()), &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.second->source().begin.line < b.second->source().begin.line;
  });
  for (const auto& [key, node] : entries) {
    const std::string at = where(file, node->source());
    if (node->is_table()) return at + ": [" + key + "]: the file has no sections, only settings";
    const Option* option = find_option(key);
    if (!option || !option->in_file) return at + ": unknown setting '" + key + "' (chatd --help lists them)";
    const auto text = value_text(*node, *option);
    if (!text) {
      return at + ": " + key +
             (option->setting.kind == TomlKind::boolean ? " must be true or false"
              : option->setting.kind == TomlKind::number ? " must be a number"
                                                         : " must be a \"string\"");
    }
    if (std::string error = apply(config, *option, *text, key); !error.empty()) return at + ": " + error;
  }
  return {};
}

// --help's line for an option: what it does, its range, its default.
std::string help_text(const Option& o, const ServerConfig& defaults) {
  std::string help(o.help);
  std::vector<std::string> notes;
  if (o.range) notes.push_back(bounds_text(*o.range, o.setting.number_text));
  if (!o.value_name.empty())
    if (auto shown = o.setting.show(defaults); shown && !shown->empty()) notes.push_back("default " + *shown);
  if (!notes.empty()) {
    help += " (" + notes.front();
    for (std::size_t i = 1; i < notes.size(); ++i) help += "; " + notes[i];
    help += ")";
  }
  return help;
}

// The command line's options, each given one's value text in `values`
// (index by index with options()).
struct Parser {
  CLI::App app{"A chat server speaking newline-delimited JSON (protocol 1).", "chatd"};
  std::vector<std::string> values = std::vector<std::string>(options().size());
  std::vector<CLI::Option*> given;
  std::string config_file;
  bool print_config = false;

  Parser() {
    cli::prepare(app, "chatd " COROCHAT_VERSION " (protocol 1)");
    app.footer(
        "Durations take a unit: 500ms, 30s or 2m (0 needs none). Each option can be set in the\n"
        "--config file under its name without \"--\" (port = 7000); the command line wins over it.\n"
        "SIGHUP reads the file again (see docs/operations.md). Exit status: 0 done, 1 failed while\n"
        "running, 2 bad command line or configuration.");
    app.add_option("--config", config_file, "read settings from this TOML file; reread on SIGHUP")
        ->type_name("FILE");
    app.add_flag("--print-config", print_config, "print the effective settings as TOML and exit");
    const ServerConfig defaults;
    for (std::size_t i = 0; i < options().size(); ++i) {
      const Option& o = options()[i];
      const std::string name(o.name);
      const std::string description = help_text(o, defaults);
      CLI::Option* added = o.value_name.empty()
                               ? app.add_flag(name, description)
                               : app.add_option(name, values[i], description)->type_name(std::string(o.value_name));
      if (o.help.empty()) added->group("");
      given.push_back(added);
    }
  }
};

}  // namespace

Loaded load_configuration(const std::string& file, const std::vector<Given>& given) {
  Loaded loaded;
  if (!file.empty()) {
    loaded.error = read_file_settings(loaded.config, file);
    if (!loaded.error.empty()) return loaded;
  }
  for (const auto& g : given) {
    const Option* option = find_option(g.name);
    if (!option) {
      loaded.error = "unknown option --" + g.name;
      return loaded;
    }
    loaded.error = apply(loaded.config, *option, g.value, option->name);
    if (!loaded.error.empty()) return loaded;
  }
  loaded.error = check_together(loaded.config);
  if (!loaded.error.empty() && !file.empty()) loaded.error += " (with " + file + ")";
  derive_settings(loaded.config);
  return loaded;
}

CommandLine parse_command_line(int argc, const char* const* argv) {
  CommandLine cl;
  Parser parser;
  const cli::Parsed parsed = cli::parse(parser.app, argc, argv);
  if (parsed.exit) {
    cl.output = parsed.out;
    cl.error = parsed.error;
    cl.hint = parsed.hint;
    return cl;
  }
  for (std::size_t i = 0; i < options().size(); ++i) {
    if (parser.given[i]->count() == 0) continue;
    const Option& o = options()[i];
    cl.given.push_back({std::string(o.name.substr(2)), o.value_name.empty() ? "true" : parser.values[i]});
  }
  cl.config_file = parser.config_file;
  cl.print_config = parser.print_config;
  Loaded loaded = load_configuration(cl.config_file, cl.given);
  cl.config = std::move(loaded.config);
  cl.error = std::move(loaded.error);
  cl.hint = "(chatd --help lists the options)";
  return cl;
}

std::string usage() {
  Parser parser;
  return parser.app.help();
}

namespace {

// A TOML basic string.
std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string print_config(const ServerConfig& config) {
  std::string out =
      "# chatd's effective settings (chatd --print-config): defaults, the --config file and the\n"
      "# command line. chatd --config reads this file back.\n";
  for (const auto& o : options()) {
    if (!o.in_file) continue;
    const std::string key(o.name.substr(2));
    const auto shown = o.setting.show(config);
    if (!shown) {
      out += "# " + key + " = (not set)\n";
      continue;
    }
    out += key + " = " + (o.setting.kind == TomlKind::text ? toml_string(*shown) : *shown) + "\n";
  }
  return out;
}

Changes compare_settings(const ServerConfig& before, const ServerConfig& after) {
  Changes changes;
  for (const auto& o : options()) {
    if (!o.in_file || o.setting.show(before) == o.setting.show(after)) continue;
    (o.reload == Reload::live ? changes.live : changes.restart).push_back(std::string(o.name.substr(2)));
  }
  // Serving TLS or not is the listeners' to change, at a restart.
  if (before.tls.enabled() != after.tls.enabled()) {
    for (const char* name : {"tls-cert", "tls-key"}) {
      if (std::erase(changes.live, name) > 0) changes.restart.push_back(name);
    }
  }
  // Same file, new contents.
  if (before.password_file == after.password_file && before.state.password != after.state.password)
    changes.live.push_back("password-file");
  return changes;
}

void take_live_settings(ServerConfig& running, const ServerConfig& next) {
  // New files for the TLS listener there is; none started or stopped.
  if (running.tls.enabled() == next.tls.enabled()) {
    running.tls.cert_file = next.tls.cert_file;
    running.tls.key_file = next.tls.key_file;
  }
  running.connection.flood_rate = next.connection.flood_rate;
  running.connection.flood_burst = next.connection.flood_burst;
  running.admission.max_per_address = next.admission.max_per_address;
  running.admission.connect_rate = next.admission.connect_rate;
  running.admission.connect_burst = next.admission.connect_burst;
  running.password_file = next.password_file;
  running.state.password = next.state.password;
  running.state.motd = next.state.motd;
  running.log_level = next.log_level;
  derive_settings(running);
}

std::vector<std::pair<std::string, Reload>> file_settings() {
  std::vector<std::pair<std::string, Reload>> list;
  for (const auto& o : options())
    if (o.in_file) list.emplace_back(std::string(o.name.substr(2)), o.reload);
  return list;
}

}  // namespace corochat::server
