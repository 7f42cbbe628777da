// chat-replay: runs scripted clients (scenario files) against a chat server
// of protocol 1, or records a live session into a scenario.
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "recorder.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "scenario.hpp"

#ifndef COROCHAT_VERSION
#define COROCHAT_VERSION "0.0.0"
#endif

namespace {
using namespace corochat::replay;

constexpr const char* usage_text =
    "usage: chat-replay [--host H] [--port P] [--tls [--ca FILE] [--insecure]] [--junit FILE] [--verbose]\n"
    "                   [--real-time] SCENARIO...\n"
    "       chat-replay record --listen [HOST:]PORT --upstream HOST:PORT --out FILE\n"
    "\n"
    "Runs each scenario file against the server (default 127.0.0.1:7000).\n"
    "Exit status: 0 all passed, 1 some failed, 2 a scenario file or the command line is wrong.\n"
    "\n"
    "  --host H, --port P   the server\n"
    "  --tls                connect with TLS, checking the server's certificate and name\n"
    "  --ca FILE            trust the PEM certificates in FILE (implies --tls)\n"
    "  --insecure           TLS without checking the certificate (implies --tls; unsafe)\n"
    "  --junit FILE         also write a JUnit XML report\n"
    "  --verbose            show every line sent (>) and received (<)\n"
    "  --real-time          keep the recorded pauses (`pause` steps)\n"
    "\n"
    "record: a proxy on --listen that forwards to --upstream and writes what\n"
    "passes through as a scenario (the server's lines become expectations,\n"
    "without timestamps and other fields that change between runs). Stop it\n"
    "with Ctrl-C. The format is described in docs/replay.md.\n";

bool split_host_port(std::string_view text, std::string& host, std::string& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    port = std::string(text);
    return !port.empty();
  }
  host = std::string(text.substr(0, colon));
  port = std::string(text.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return !host.empty() && !port.empty();
}

int usage_error(const std::string& message) {
  std::cerr << "chat-replay: " << message << "\n(chat-replay --help shows the usage)\n";
  return 2;
}

int record(int argc, char** argv) {
  RecordOptions options;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage_error(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--listen") {
      if (!split_host_port(value, options.listen_host, options.listen_port)) return usage_error("bad --listen");
    } else if (arg == "--upstream") {
      if (!split_host_port(value, options.upstream_host, options.upstream_port) || options.upstream_host.empty())
        return usage_error("--upstream takes HOST:PORT");
    } else if (arg == "--out") {
      options.out_path = value;
    } else {
      return usage_error("unknown option " + arg);
    }
  }
  if (options.listen_port.empty() || options.upstream_port.empty() || options.out_path.empty())
    return usage_error("record needs --listen, --upstream and --out");
  return run_recorder(options);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "record") return record(argc, argv);

  RunOptions options;
  std::string junit_path;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--help") {
      std::cout << usage_text;
      return 0;
    } else if (arg == "--version") {
      std::cout << "chat-replay " COROCHAT_VERSION " (protocol 1)\n";
      return 0;
    } else if (arg == "--host") {
      const char* v = value();
      if (!v) return usage_error("--host needs a value");
      options.host = v;
    } else if (arg == "--port") {
      const char* v = value();
      if (!v) return usage_error("--port needs a value");
      options.port = v;
    } else if (arg == "--tls") {
      options.tls.enabled = true;
    } else if (arg == "--ca") {
      const char* v = value();
      if (!v) return usage_error("--ca needs a file");
      options.tls.ca_file = v;
      options.tls.enabled = true;
    } else if (arg == "--insecure") {
      options.tls.insecure = options.tls.enabled = true;
    } else if (arg == "--junit") {
      const char* v = value();
      if (!v) return usage_error("--junit needs a file");
      junit_path = v;
    } else if (arg == "--verbose") {
      options.traffic = &std::cout;
    } else if (arg == "--real-time") {
      options.real_time = true;
    } else if (arg.starts_with("--")) {
      return usage_error("unknown option " + arg);
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) return usage_error("no scenario file given");
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
