// chatd's command line: each option writes one setting of ServerConfig.
#pragma once

#include <string>

#include "server/config.hpp"

namespace corochat::server {

struct CommandLine {
  ServerConfig config;
  bool help = false;
  bool version = false;
  std::string error;  // non-empty: the command line is wrong
};

// Parses and checks the options; on success the derived settings are set
// (derive_settings()).
CommandLine parse_command_line(int argc, const char* const* argv);
// The --help text: every option, its range and its default, read from a
// default-constructed ServerConfig.
std::string usage();
// A duration as the command line reads it: "120s", "500ms".
std::string duration_text(Duration duration);

}  // namespace corochat::server
