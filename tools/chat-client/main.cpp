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

constexpr std::string_view usage =
    "usage: chat-client [HOST:PORT] [--host HOST] [--port PORT] [--nick NICK] [--room ROOM]\n"
    "                   [--password-file FILE] [--tls [--ca FILE] [--insecure]] [--json]\n"
    "                   [--highlight WORD]... [--no-bell] [--config FILE | --no-config]\n"
    "                   [--help] [--version]\n"
    "\n"
    "Connects to a chatd server (default 127.0.0.1:7000) and chats.\n"
    "  HOST:PORT             the server, in one argument ([::1]:7000 for IPv6)\n"
    "  --host HOST           server address (default 127.0.0.1)\n"
    "  --port PORT           server port (default 7000, or 7443 with --tls)\n"
    "  --nick NICK           your nick (default: your login name)\n"
    "  --room ROOM           join ROOM after connecting and talk there\n"
    "  --password-file FILE  send the password on FILE's first line\n"
    "  --tls                 connect with TLS, checking the server's certificate and name\n"
    "                        against the system's trusted authorities\n"
    "  --ca FILE             trust the PEM certificates in FILE instead (implies --tls)\n"
    "  --insecure            TLS without checking the certificate (implies --tls; unsafe)\n"
    "  --json                print the server's protocol lines as received, one per line\n"
    "  --highlight WORD      lines with WORD count as mentions, as your nick does (repeatable)\n"
    "  --no-bell             no terminal bell on a mention\n"
    "  --config FILE         read settings from FILE (default ~/.config/corochat/client.toml)\n"
    "  --no-config           read no settings file\n"
    "  --help, --version     this text; the version\n"
    "\n"
    "On a terminal, type text to talk and /help for the commands. With stdin\n"
    "not a terminal, every input line is sent (text or command) and the client\n"
    "exits when all of them have been answered.\n";

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
  std::cerr << "chat-client: " << message << "\n(try chat-client --help)\n";
  return 2;
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
  // The settings file first, so that the command line can override it.
  std::string config_path = user_file("XDG_CONFIG_HOME", ".config", "client.toml");
  bool config_required = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--no-config") config_path.clear();
    if (arg == "--config") {
      if (i + 1 >= argc || !*argv[i + 1]) return fail("--config needs a file");
      config_path = argv[++i];
      config_required = true;
    }
  }
  if (!config_path.empty())
    if (auto error = apply_config(config_path, config_required, options, password_file, port_given))
      return fail(*error);
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (arg == "--version") {
      std::cout << "chat-client " COROCHAT_VERSION "\n";
      return 0;
    }
    if (arg == "--no-config") continue;
    if (arg == "--config") {
      ++i;  // read above
      continue;
    }
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--no-bell") {
      options.bell = false;
    } else if (arg == "--highlight") {
      std::string word;
      if (!value(word) || word.empty()) return fail("--highlight needs a word");
      options.highlights.push_back(std::move(word));
    } else if (arg == "--host") {
      if (!value(options.host) || options.host.empty()) return fail("--host needs an address");
    } else if (arg == "--port") {
      if (!value(options.port) || !valid_port(options.port)) return fail("--port needs a number 0-65535");
      port_given = true;
    } else if (arg == "--tls") {
      options.tls.enabled = true;
    } else if (arg == "--ca") {
      if (!value(options.tls.ca_file) || options.tls.ca_file.empty()) return fail("--ca needs a file");
      options.tls.enabled = true;
    } else if (arg == "--insecure") {
      options.tls.insecure = options.tls.enabled = true;
    } else if (arg == "--nick") {
      if (!value(options.nick) || !corochat::protocol::is_valid_nick(options.nick))
        return fail("--nick needs 1-32 of A-Z a-z 0-9 _ - . not starting with - or .");
    } else if (arg == "--room") {
      if (!value(options.room) || !corochat::protocol::is_valid_room(options.room))
        return fail("--room needs 1-64 of A-Z a-z 0-9 _ - . not starting with - or .");
    } else if (arg == "--password-file") {
      if (!value(password_file)) return fail("--password-file needs a file");
    } else if (!arg.starts_with("-")) {
      if (!split_endpoint(arg, options)) return fail("bad server address " + std::string(arg));
      port_given = port_given || options.port != Options().port;
    } else {
      return fail("unknown option " + std::string(arg));
    }
  }
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
