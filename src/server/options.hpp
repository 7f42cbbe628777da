// chatd's settings from the command line and from a configuration file: each
// option writes one setting of ServerConfig, under the same name in both
// places ("--max-line 1000" or `max-line = 1000`). The table of options is in
// options.cpp; the defaults and ranges stay in config.hpp.
#pragma once

#include <string>
#include <vector>

#include "cli/duration.hpp"
#include "server/config.hpp"

namespace corochat::server {

// An option as given: its name without "--", its value as text ("true" for
// a flag).
struct Given {
  std::string name;
  std::string value;
};

struct CommandLine {
  ServerConfig config;      // the file's settings, then the command line's, checked and derived
  std::string config_file;  // --config FILE; empty: none
  std::vector<Given> given;  // the command line's settings, applied over the file's (also on reload)
  bool print_config = false;
  std::string output;  // --help or --version: print it and exit 0
  std::string error;   // non-empty: the command line or the file is wrong (exit 2)
  std::string hint;    // said after the error
};

// Parses and checks the options and, with --config, the file; on success the
// derived settings are set (derive_settings()).
CommandLine parse_command_line(int argc, const char* const* argv);

// The configuration `file` (none when empty) with the options `given` over
// it: what chatd starts with, and what SIGHUP reads again. An error names the
// file and line ("chatd.toml:3: unknown setting 'prot'").
struct Loaded {
  ServerConfig config;
  std::string error;
};
Loaded load_configuration(const std::string& file, const std::vector<Given>& given);

// The --help text: every option, its range and its default, read from a
// default-constructed ServerConfig.
std::string usage();

// The settings as TOML that --config reads back (--print-config).
std::string print_config(const ServerConfig& config);

// What SIGHUP can change in a running chatd, and what it cannot.
enum class Reload {
  restart,  // read at start only: a change is logged and waits for a restart
  live,     // applied to new connections (and open ones where it is cheap)
};
// The options whose value differs between `before` and `after`, by the reload
// they need: names without "--".
struct Changes {
  std::vector<std::string> live;
  std::vector<std::string> restart;
};
Changes compare_settings(const ServerConfig& before, const ServerConfig& after);
// Copies into `running` the settings of `next` that a reload applies live
// (those of Reload::live), and sets the derived ones again.
void take_live_settings(ServerConfig& running, const ServerConfig& next);
// Every option a configuration file may set, with the reload it needs (for
// the documentation and its test).
std::vector<std::pair<std::string, Reload>> file_settings();

// A duration as the command line reads it: "120s", "500ms".
using cli::duration_text;

}  // namespace corochat::server
