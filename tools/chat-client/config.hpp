// ~/.config/corochat/client.toml: the options a user would otherwise type on
// every start. Pure: the text is read by the caller.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corochat::chat_client {

// What the file may set; absent keys stay unset. The command line wins over
// the file, except --highlight, whose words add to the file's.
struct ConfigFile {
  std::optional<std::string> server;  // "HOST:PORT", as the command line's argument
  std::optional<std::string> host;
  std::optional<std::string> port;    // a string or an integer in the file
  std::optional<std::string> nick;
  std::optional<std::string> room;
  std::optional<std::string> password_file;
  std::optional<bool> tls;
  std::optional<std::string> ca;
  std::vector<std::string> highlight;
  std::optional<bool> bell;
  std::optional<bool> input_history;  // keep typed lines across runs
};

struct ConfigResult {
  ConfigFile config;
  std::string error;  // "line N: what is wrong"; empty when the text was read whole
};

// Reads the subset of TOML the file needs: `key = value` lines with values
// that are "strings" (escapes \" \\ \t \n), integers, true/false, or arrays
// of strings on one line; # starts a comment; no [sections]. Unknown keys
// are errors, so a typo does not go unnoticed.
ConfigResult parse_config(std::string_view text);

}  // namespace corochat::chat_client
