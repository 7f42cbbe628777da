// `chat-replay record`: a proxy that writes what passes through it as a
// scenario that replays it, with the server's lines turned into expectations.
#pragma once

#include <string>

namespace corochat::replay {

struct RecordOptions {
  std::string listen_host = "127.0.0.1";
  std::string listen_port;
  std::string upstream_host;
  std::string upstream_port;
  std::string out_path;
};

// Runs until SIGINT or SIGTERM; returns the process exit code.
int run_recorder(const RecordOptions& options);


}  // namespace corochat::replay
