// chat-client's command line, read without acting on it: main() applies the
// settings file first and these over it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/command_line.hpp"

namespace corochat::chat_client {

// What the command line gave; an unset field was not given.
struct ClientCommand {
  cli::Parsed parsed;  // parsed.exit: print it and stop
  std::optional<std::string> server;  // "HOST:PORT", "[v6]:PORT" or a bare host
  std::optional<std::string> host;
  std::optional<std::string> port;
  std::optional<std::string> nick;
  std::optional<std::string> room;
  std::optional<std::string> password_file;
  std::optional<std::string> ca;
  bool tls = false;
  bool insecure = false;
  bool json = false;
  bool no_bell = false;
  std::vector<std::string> highlights;
  std::optional<std::string> config;  // --config FILE: required to exist
  bool no_config = false;
};

// `args[0]` is the program's name.
ClientCommand parse_client_command(const std::vector<std::string>& args);

}  // namespace corochat::chat_client
