// chat-client: a terminal chat client for chatd.
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <langinfo.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "command.hpp"
#include "client_command.hpp"
#include "config.hpp"
#include "corochat/protocol/names.hpp"
#include "session.hpp"
#include "terminal.hpp"

#ifndef COROCHAT_VERSION
#define COROCHAT_VERSION "unknown"
#endif

namespace asio = boost::asio;
using namespace corochat::chat_client;

namespace {

std::string login_name() {
  if (const char* user = std::getenv("USER"); user && *user) return user;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) return pw->pw_name;
  return "user";
}

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  for (char c : port)
    if (c < '0' || c > '9') return false;
  return std::stoi(std::string(port)) <= 65535;
}

// "host:port", "[v6]:port", or a bare "host".
bool split_endpoint(std::string_view text, Options& options) {
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    options.host = text.substr(1, close - 1);
    text.remove_prefix(close + 1);
    if (text.empty()) return true;
    if (!text.starts_with(":")) return false;
    options.port = text.substr(1);
    return valid_port(options.port);
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || text.find(':') != colon) {
    options.host = text;  // a name, or a bare IPv6 address
    return !text.empty();
  }
  options.host = text.substr(0, colon);
  options.port = text.substr(colon + 1);
  return !options.host.empty() && valid_port(options.port);
}

// libedit decodes keystrokes by the C library's locale and, in the "C" locale
// a program starts in, drops every byte above 0x7F. The protocol is UTF-8, so
// the character type is UTF-8 even where the environment names no UTF-8
// locale, or one that is not installed (setlocale then fails and leaves "C").
void use_locale() {
  std::setlocale(LC_ALL, "");
  if (std::strcmp(::nl_langinfo(CODESET), "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");
}

int fail(std::string_view message) {
  std::cerr << "chat-client: " << message << "\n(chat-client --help lists the options)\n";
  return corochat::cli::exit_usage;
}

// $XDG_..._HOME/corochat/NAME, else ~/FALLBACK/corochat/NAME; "" without a home.
std::string user_file(const char* xdg_variable, const char* fallback, const char* name) {
  if (const char* base = std::getenv(xdg_variable); base && *base == '/')
    return std::string(base) + "/corochat/" + name;
  const char* home = std::getenv("HOME");
  if (!home || !*home) return {};
  return std::string(home) + "/" + fallback + "/corochat/" + name;
}

// Creates the directories above `path`, private to the user: the input
// history holds private messages.
void make_parents(const std::string& path) {
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
    ::mkdir(path.substr(0, slash).c_str(), 0700);
}

// The settings file's values, under the command line's. An error: the message.
std::optional<std::string> apply_config(const std::string& path, bool required, Options& options,
                                        std::string& password_file, bool& port_given) {
  std::ifstream in(path);
  if (!in) return required ? std::optional<std::string>("cannot read " + path) : std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  const ConfigResult read = parse_config(text.str());
  if (!read.error.empty()) return path + ": " + read.error;
  const ConfigFile& c = read.config;
  auto bad = [&](std::string_view what) { return std::optional<std::string>(path + ": " + std::string(what)); };
  if (c.server && !split_endpoint(*c.server, options)) return bad("bad server address " + *c.server);
  if (c.server && options.port != Options().port) port_given = true;
  if (c.host) options.host = *c.host;
  if (c.port) {
    if (!valid_port(*c.port)) return bad("port needs a number 0-65535");
    options.port = *c.port;
    port_given = true;
  }
  if (c.nick) {
    if (!corochat::protocol::is_valid_nick(*c.nick)) return bad("nick needs 1-32 of A-Z a-z 0-9 _ - . not starting with - or .");
    options.nick = *c.nick;
  }
  if (c.room) {
    if (!corochat::protocol::is_valid_room(*c.room)) return bad("room needs 1-64 of A-Z a-z 0-9 _ - . not starting with - or .");
    options.room = *c.room;
  }
  if (c.password_file) password_file = *c.password_file;
  if (c.tls) options.tls.enabled = *c.tls;
  if (c.ca) {
    options.tls.ca_file = *c.ca;
    options.tls.enabled = true;
  }
  for (const auto& word : c.highlight)
    if (!word.empty()) options.highlights.push_back(word);
  if (c.bell) options.bell = *c.bell;
  if (c.input_history) options.input_history = *c.input_history;
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  use_locale();
  Options options;
  std::string password_file;
  bool port_given = false;
  const ClientCommand command = parse_client_command(std::vector<std::string>(argv, argv + argc));
  if (command.parsed.exit) return corochat::cli::report(command.parsed, "chat-client");
  // The settings file first, so that the command line can override it.
  std::string config_path = user_file("XDG_CONFIG_HOME", ".config", "client.toml");
  if (command.no_config) config_path.clear();
  if (command.config) config_path = *command.config;
  if (!config_path.empty())
    if (auto error = apply_config(config_path, command.config.has_value(), options, password_file, port_given))
      return fail(*error);
  if (command.json) options.json = true;
  if (command.no_bell) options.bell = false;
  options.highlights.insert(options.highlights.end(), command.highlights.begin(), command.highlights.end());
  if (command.server) {
    if (!split_endpoint(*command.server, options)) return fail("bad server address " + *command.server);
    port_given = port_given || options.port != Options().port;
  }
  if (command.host) options.host = *command.host;
  if (command.port) {
    options.port = *command.port;
    port_given = true;
  }
  if (command.tls) options.tls.enabled = true;
  if (command.ca) {
    options.tls.ca_file = *command.ca;
    options.tls.enabled = true;
  }
  if (command.insecure) options.tls.insecure = options.tls.enabled = true;
  if (command.nick) options.nick = *command.nick;
  if (command.room) options.room = *command.room;
  if (command.password_file) password_file = *command.password_file;
  if (options.nick.empty()) options.nick = nick_from_login(login_name());
  if (options.tls.enabled && !port_given) options.port = "7443";
  if (!options.tls.ca_file.empty() && ::access(options.tls.ca_file.c_str(), R_OK) != 0)
    return fail("cannot read " + options.tls.ca_file);
  if (options.tls.insecure)
    std::cerr << "chat-client: warning: --insecure: the server's certificate is not checked; anyone on the\n"
                 "  network path can pose as the server and read the chat\n";
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    if (!in) return fail("cannot read " + password_file);
    std::getline(in, options.password);
    if (!options.password.empty() && options.password.back() == '\r') options.password.pop_back();
  }

  options.interactive = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO) && !options.json;
  const char* no_colour = std::getenv("NO_COLOR");
  options.colour = ::isatty(STDOUT_FILENO) && !(no_colour && *no_colour) && !options.json;

  asio::io_context io(1);
  PlainOutput plain;
  std::optional<Terminal> terminal;
  std::string history_path;
  if (options.input_history && options.interactive) {
    history_path = user_file("XDG_STATE_HOME", ".local/state", "history");
    if (!history_path.empty()) make_parents(history_path);
  }
  if (options.interactive) terminal.emplace(history_path);
  Output& output = terminal ? static_cast<Output&>(*terminal) : plain;
  Session session(io, options, output);

  int status = 1;
  asio::co_spawn(io, session.run(), [&](std::exception_ptr e, int result) {
    status = result;
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& error) {
        output.print_problem(std::string("chat-client: ") + error.what());
      }
      status = 1;
    }
    io.stop();  // the input reader may still wait on stdin
  });
  if (terminal) {
    terminal->attach(session);
    asio::co_spawn(io, terminal->read_keys(), asio::detached);
  } else {
    asio::co_spawn(io, read_pipe(session), asio::detached);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                             int) {
    if (ec) return;
    session.interrupt();
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  io.run();
  if (terminal) terminal->restore();
  return status;
}
