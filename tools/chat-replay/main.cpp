// chat-replay: runs scripted clients (scenario files) against a chat server
// of protocol 1, or records a live session into a scenario.
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "replay_command.hpp"
#include "recorder.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "scenario.hpp"

#ifndef COROCHAT_VERSION
#define COROCHAT_VERSION "0.0.0"
#endif

using namespace corochat;
using namespace corochat::replay;

int main(int argc, char** argv) {
  ReplayCommand command = parse_replay_command(std::vector<std::string>(argv, argv + argc));
  if (command.parsed.exit) return cli::report(command.parsed, "chat-replay");
  if (command.record) return run_recorder(command.recording);

  RunOptions& options = command.run;
  if (command.verbose) options.traffic = &std::cout;
  const std::string& junit_path = command.junit_path;
  const std::vector<std::string>& files = command.files;
  if (options.tls.insecure)
    std::cerr << "chat-replay: warning: --insecure: the server's certificate is not checked\n";

  // Every file is checked before anything runs.
  std::vector<Scenario> scenarios;
  bool bad = false;
  for (const auto& file : files) {
    std::ifstream in(file);
    if (!in) {
      std::cerr << file << ": cannot read\n";
      bad = true;
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto parsed = parse_scenario(text.str(), file);
    if (auto* error = std::get_if<ScenarioError>(&parsed)) {
      std::cerr << error->describe() << '\n';
      bad = true;
    } else {
      scenarios.push_back(std::move(std::get<Scenario>(parsed)));
    }
  }
  if (bad) return 2;

  std::vector<CaseResult> results;
  for (const auto& scenario : scenarios) {
    boost::asio::io_context io(1);
    RunResult result;
    boost::asio::co_spawn(io, run_scenario(scenario, options), [&](std::exception_ptr e, RunResult r) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          r.report = "FAIL " + scenario.file + ": " + ex.what() + "\n";
        }
      }
      result = std::move(r);
    });
    if (options.traffic) std::cout << scenario.file << ":\n";
    io.run();
    std::cout << (result.passed ? "PASS " : "") << (result.passed ? scenario.file : result.report);
    if (result.passed) std::cout << " (" << static_cast<int>(result.seconds * 1000) << " ms)\n";
    results.push_back({scenario.file, result.passed, result.report, result.seconds});
  }

  std::size_t failed = 0;
  for (const auto& r : results) failed += r.passed ? 0 : 1;
  std::cout << "scenarios: " << results.size() - failed << " passed, " << failed << " failed\n";
  if (!junit_path.empty()) {
    std::ofstream junit(junit_path);
    junit << junit_xml(results);
    if (!junit) {
      std::cerr << "chat-replay: cannot write " << junit_path << '\n';
      return 2;
    }
  }
  return failed ? 1 : 0;
}
