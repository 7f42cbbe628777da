// chat-replay's command line: running scenarios, or `record`. Pure, so that
// the unit tests read invocations without running anything.
#pragma once

#include <string>
#include <vector>

#include "cli/command_line.hpp"
#include "recorder.hpp"
#include "runner.hpp"

namespace corochat::replay {

struct ReplayCommand {
  cli::Parsed parsed;  // parsed.exit: print it and stop
  bool record = false;
  // Running scenarios.
  RunOptions run;
  bool verbose = false;  // main points run.traffic at stdout
  std::string junit_path;
  std::vector<std::string> files;
  // record
  RecordOptions recording;
};

// `args[0]` is the program's name.
ReplayCommand parse_replay_command(const std::vector<std::string>& args);

}  // namespace corochat::replay
