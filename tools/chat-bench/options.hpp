// chat-bench's command line (the contract with bench/run.sh; see
// docs/chat-bench.md).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols.hpp"

namespace corochat::bench {

enum class Mode { fanout, idle, connect };

struct Options {
  Mode mode = Mode::fanout;
  ProtocolKind protocol = ProtocolKind::corochat;
  std::string host = "127.0.0.1";
  std::string port;
  // fanout
  std::size_t subscribers = 0;
  std::size_t publishers = 1;
  std::size_t payload = 100;
  std::size_t window = 0;  // messages in flight per publisher; 0: use rate
  double rate = 0;         // total messages a second; 0: use window
  double duration = 0;  // seconds
  double warmup = 0;    // seconds
  std::string room = "bench";
  // idle and connect
  std::size_t connections = 0;
  std::size_t room_size = 100;
  std::size_t concurrency = 200;  // connections being set up at once
  double hold = 0.5;              // idle: seconds between the last join and the RSS sample
  // all modes
  int server_pid = 0;
  bool json = false;
  bool quickack = false;
  // TLS (corochat only): verify against the system's trust store or ca_file,
  // host name included, unless insecure.
  bool tls = false;
  std::string ca_file;
  bool insecure = false;
  std::string nick_prefix = "cb";
  std::string irc_oper;  // NAME:PASSWORD for IRC publishers (ngIRCd's +F)
};

struct ParsedOptions {
  std::optional<Options> options;  // absent: print `output` (help, version) or `error` and exit with `status`
  int status = 0;
  std::string output;
  std::string error;  // one line
  std::string hint;   // "(chat-bench fanout --help lists the options)"
};

// `args` without the program's name: the mode first ("fanout", ...).
ParsedOptions parse_options(const std::vector<std::string_view>& args);

}  // namespace corochat::bench
