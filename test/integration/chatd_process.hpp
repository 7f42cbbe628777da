// A real chatd for one test: started on a free loopback port, stopped (killed
// if need be) when the test ends.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace corochat::test {

class ChatdProcess {
 public:
  // Starts chatd with `args` added after `--host 127.0.0.1 --port 0` (a later
  // --host overrides) and waits until it says where it listens.
  explicit ChatdProcess(std::vector<std::string> args = {});
  // Any program that announces "listening on HOST port N" on stderr, started
  // with exactly `argv` (argv[0] is its path).
  static ChatdProcess program(std::vector<std::string> argv) { return ChatdProcess(std::move(argv), 0); }
  ChatdProcess(ChatdProcess&& other) noexcept;
  ~ChatdProcess();
  ChatdProcess(const ChatdProcess&) = delete;
  ChatdProcess& operator=(const ChatdProcess&) = delete;

  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }
  pid_t pid() const { return pid_; }
  void signal(int signal_number);
  // The exit status once it has exited within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  std::string log() const;  // what it wrote to stderr
  // Asks chatd for its counters with SIGUSR1 and waits (bounded) for the line:
  // connections, clients, rooms, refusing, heap_bytes.
  std::map<std::string, std::size_t> stats();

 private:
  ChatdProcess(std::vector<std::string> argv, int);
  pid_t pid_ = -1;
  std::string log_path_;
  std::string host_;
  std::string port_;
  std::size_t stats_seen_ = 0;
};

// A program run to its end: its exit status (-1 when it was stopped: still
// running at the time limit, or once its output showed `stop_when`) and what
// it wrote to stdout and stderr.
struct ProgramRun {
  int exit_status = -1;
  std::string output;
};
ProgramRun run_program(std::vector<std::string> argv, std::chrono::milliseconds limit,
                       const std::string& stop_when = {});

}  // namespace corochat::test
