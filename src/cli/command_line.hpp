// What the four programs share around CLI11: -h/--help, --version, "--opt
// value" and "--opt=value" (an empty "--opt=" too), the last of a repeated
// option winning, and one-line errors with a hint and exit status 2.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace corochat::cli {

// Exit statuses of every program: 0 done, 1 failed while running, 2 the
// command line (or chatd's configuration file) is wrong.
inline constexpr int exit_ok = 0;
inline constexpr int exit_runtime = 1;
inline constexpr int exit_usage = 2;

// Sets what every program has: --help (and -h), --version printing
// `version_line`, the last of a repeated option winning.
void prepare(CLI::App& app, std::string version_line);

// After a parse: go on (exit == false), or stop with `status`, writing `out`
// on stdout (help, version) or `error` and `hint` on stderr.
struct Parsed {
  bool exit = false;
  int status = exit_ok;
  std::string out;
  std::string error;  // one line: what is wrong
  std::string hint;   // "(chat-replay record --help lists the options)"
};

// Parses `args` (args[0] is the program's name, left out).
Parsed parse(CLI::App& app, std::vector<std::string> args);
Parsed parse(CLI::App& app, int argc, const char* const* argv);

// Writes what `parsed` says as `program` and returns its exit status.
int report(const Parsed& parsed, std::string_view program);

}  // namespace corochat::cli
