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
  // --host overrides) and waits until it says where it listens. Unless `args`
  // name a --store or --data-dir, chatd keeps its sqlite store in a fresh
  // temporary directory, removed with the process.
  explicit ChatdProcess(std::vector<std::string> args = {});
  // Any program that announces "listening on HOST port N" on stderr, started
  // with exactly `argv` (argv[0] is its path).
  static ChatdProcess program(std::vector<std::string> argv) { return ChatdProcess(Launch{std::move(argv), {}}); }
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
  struct Launch {
    std::vector<std::string> argv;
    std::string data_dir;  // removed with the process when not empty
  };
  static Launch chatd_launch(std::vector<std::string> args);
  explicit ChatdProcess(Launch launch);
  pid_t pid_ = -1;
  std::string log_path_;
  std::string host_;
  std::string port_;
  std::size_t stats_seen_ = 0;
  std::string data_dir_;  // ours to remove
};

// A temporary directory, removed with everything in it when this goes.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
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

// In a forked child before exec: the child is killed when the test process
// ends, however it ends (a crash or a ctest timeout runs no destructor).
void die_with_parent(pid_t parent);

}  // namespace corochat::test
