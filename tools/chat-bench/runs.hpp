// The three bench modes. Each runs to completion on one thread and returns
// its report and exit status.
#pragma once

#include "options.hpp"
#include "results.hpp"

namespace corochat::bench {

struct Outcome {
  Report report;
  int exit_status = 0;  // 0 completed cleanly; 1 losses, corruption or errors
};

Outcome run_fanout(const Options& options);
// idle and connect: open many registered connections in rooms.
Outcome run_connections(const Options& options);

}  // namespace corochat::bench
