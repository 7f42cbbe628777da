#include "client_command.hpp"

#include <CLI/CLI.hpp>

#include "corochat/protocol/names.hpp"

#ifndef COROCHAT_VERSION
#define COROCHAT_VERSION "0.0.0"
#endif

namespace corochat::chat_client {
namespace {

// An option that sets an optional string once given, checked by `check`
// (which returns the error, or "").
template <class Check>
CLI::Option* add_text(CLI::App& app, const std::string& name, std::optional<std::string>& out,
                      const std::string& help, const std::string& value_name, Check check) {
  return app
      .add_option_function<std::string>(
          name,
          [&out, check, name](const std::string& value) {
            if (std::string error = check(value); !error.empty())
              throw CLI::ValidationError("bad value for " + name + ": '" + value + "' (" + error + ")");
            out = value;
          },
          help)
      ->type_name(value_name);
}

std::string not_empty(const std::string& v) { return v.empty() ? "empty" : ""; }
std::string valid_nick(const std::string& v) {
  return protocol::is_valid_nick(v) ? "" : "1-32 of A-Z a-z 0-9 _ - . not starting with - or .";
}
std::string valid_room(const std::string& v) {
  return protocol::is_valid_room(v) ? "" : "1-64 of A-Z a-z 0-9 _ - . not starting with - or .";
}
std::string valid_port(const std::string& v) {
  if (v.empty() || v.size() > 5 || v.find_first_not_of("0123456789") != std::string::npos || std::stoi(v) < 1 ||
      std::stoi(v) > 65535)
    return "a number from 1 to 65535";
  return "";
}

}  // namespace

ClientCommand parse_client_command(const std::vector<std::string>& args) {
  ClientCommand c;
  CLI::App app{"Connects to a chatd server (default 127.0.0.1:7000) and chats.", "chat-client"};
  cli::prepare(app, "chat-client " COROCHAT_VERSION);
  app.footer(
      "On a terminal, type text to talk and /help for the commands. With stdin not a terminal,\n"
      "every input line is sent (text or command) and the client exits when all of them have\n"
      "been answered. Exit status: 0 done, 1 the connection or the server failed, 2 bad command line.");
  add_text(app, "server", c.server, "the server, in one argument ([::1]:7000 for IPv6)", "HOST:PORT", not_empty);
  add_text(app, "--host", c.host, "server address (default 127.0.0.1)", "HOST", not_empty);
  add_text(app, "--port", c.port, "server port (default 7000, or 7443 with --tls)", "PORT", valid_port);
  add_text(app, "--nick", c.nick, "your nick (default: your login name)", "NICK", valid_nick);
  add_text(app, "--room", c.room, "join ROOM after connecting and talk there", "ROOM", valid_room);
  add_text(app, "--password-file", c.password_file, "send the password on FILE's first line", "FILE", not_empty);
  app.add_flag("--tls", c.tls, "connect with TLS, checking the server's certificate and name against the system's "
                               "trusted authorities");
  add_text(app, "--ca", c.ca, "trust the PEM certificates in FILE instead (implies --tls)", "FILE", not_empty);
  app.add_flag("--insecure", c.insecure, "TLS without checking the certificate (implies --tls; unsafe)");
  app.add_flag("--json", c.json, "print the server's protocol lines as received, one per line");
  app.add_option_function<std::vector<std::string>>(
         "--highlight",
         [&c](const std::vector<std::string>& words) {
           for (const auto& word : words) {
             if (word.empty()) throw CLI::ValidationError("--highlight needs a word");
             c.highlights.push_back(word);
           }
         },
         "lines with WORD count as mentions, as your nick does (repeatable)")
      ->type_name("WORD")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1);
  app.add_flag("--no-bell", c.no_bell, "no terminal bell on a mention");
  CLI::Option* config = add_text(app, "--config", c.config,
                                 "read settings from FILE (default ~/.config/corochat/client.toml)", "FILE", not_empty);
  app.add_flag("--no-config", c.no_config, "read no settings file")->excludes(config);
  c.parsed = cli::parse(app, args);
  return c;
}

}  // namespace corochat::chat_client
