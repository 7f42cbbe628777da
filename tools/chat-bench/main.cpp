// chat-bench: a load generator for chat and pub/sub servers. See
// docs/chat-bench.md.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "options.hpp"
#include "runs.hpp"

int main(int argc, char** argv) {
  using namespace corochat::bench;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  ParsedOptions parsed = parse_options(args);
  if (!parsed.options) {
    std::fputs(parsed.output.c_str(), stdout);
    if (!parsed.error.empty()) std::fprintf(stderr, "chat-bench: %s\n%s\n", parsed.error.c_str(), parsed.hint.c_str());
    return parsed.status;
  }
  const Options& options = *parsed.options;

  // Thousands of connections: use every file descriptor the hard limit allows.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }

  try {
    Outcome outcome = options.mode == Mode::fanout ? run_fanout(options) : run_connections(options);
    for (const auto& warning : outcome.report.warnings()) std::fprintf(stderr, "chat-bench: warning: %s\n", warning.c_str());
    const std::string text = options.json ? outcome.report.json() : outcome.report.table("chat-bench results");
    std::fputs(text.c_str(), stdout);
    return outcome.exit_status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chat-bench: %s\n", e.what());
    return 1;
  }
}
