// chatd's command line.
#pragma once

#include <chrono>
#include <string>

#include "server/admission.hpp"
#include "server/chat_state.hpp"
#include "server/log.hpp"

namespace corochat::server {

using Duration = std::chrono::milliseconds;

// What each connection's I/O coroutines enforce.
struct SessionLimits {
  std::size_t max_line = 16384;
  std::size_t queue_bytes = 1 << 20;
  double flood_rate = 10;
  double flood_burst = 20;
  Duration idle{std::chrono::seconds(120)};
  Duration idle_grace{std::chrono::seconds(30)};
  Duration registration{std::chrono::seconds(30)};
  Duration close_grace{std::chrono::seconds(5)};  // to flush and close, at quit or shutdown
};

// TLS on its own port; off unless a certificate and key are given.
struct TlsOptions {
  std::string cert_file;  // PEM, the full chain
  std::string key_file;   // PEM
  std::string port = "7443";
  Duration handshake_timeout{std::chrono::seconds(10)};
  bool enabled() const { return !cert_file.empty(); }
};

struct ServerOptions {
  std::string host = "::";
  std::string port = "7000";
  bool plain = true;  // serve plain TCP on `port` (--no-plain: TLS only)
  TlsOptions tls;
  StateConfig state;
  SessionLimits session;
  AdmissionConfig admission;
  int threads = 1;
  // Refused connections being told why at once; past it they are just
  // closed. Lowered with max_clients to fit the descriptor limit.
  std::size_t max_refusing = 256;
  log::Level log_level = log::Level::warn;
};

struct CommandLine {
  ServerOptions options;
  bool help = false;
  bool version = false;
  std::string error;  // non-empty: the command line is wrong
};

CommandLine parse_command_line(int argc, const char* const* argv);
// The longest line chatd may send that is not cut to fit the queue: a
// message of max_text bytes, or the welcome with the MOTD, every byte escaped.
// A smaller outgoing queue would make every client slow.
std::size_t longest_line(const StateConfig& state);
std::string usage();

}  // namespace corochat::server
