// chatd's command line: values that would make the server useless are
// refused at start-up with a message naming the option, and exit status 2.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

struct Run {
  int exit_status = -1;  // -1: still running, listening or not, when stopped
  std::string output;
};

// Runs chatd with `args` on a free loopback port until it exits or says it
// listens (then it is stopped), at most 5 s.
Run run_chatd(std::vector<std::string> args) {
  char path[] = "/tmp/chatd-options-XXXXXX";
  const int out = ::mkostemp(path, O_CLOEXEC);
  REQUIRE(out >= 0);
  args.insert(args.begin(), {CHATD_PATH, "--host", "127.0.0.1", "--port", "0"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out);
  Run run;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    // Serving (it said where): it accepted the options; no need to wait longer.
    std::ifstream so_far(path);
    const bool listening = std::string(std::istreambuf_iterator<char>(so_far), {}).find("listening on") != std::string::npos;
    if (listening || std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  ::unlink(path);
  run.output = text.str();
  return run;
}

}  // namespace

TEST_CASE("chatd refuses limits that would make every client slow or every line too long") {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      // One legal say of 4096 '"' is 8236 bytes escaped: a queue of 8192
      // would have dropped every member of the room.
      {{"--queue-bytes", "8192"}, "--queue-bytes 8192 is smaller than the longest line"},
      {{"--queue-bytes", "100"}, "--queue-bytes 100 is smaller"},
      {{"--max-text", "100", "--motd", std::string(5000, 'm'), "--queue-bytes", "20000"}, "--queue-bytes 20000"},
      {{"--max-line", "0"}, "--max-line must be from 64"},
      {{"--max-line", "10"}, "--max-line must be from 64"},
      {{"--max-line", "99999999"}, "--max-line must be from 64"},
      {{"--max-text", "0"}, "--max-text must be at least 1"},
      {{"--history", "18446744073709551615"}, "--history must be at most 1000000"},
      {{"--history", "18446744073709551616"}, "bad value for --history"},
      {{"--reply-rate", "-1"}, "bad value for --reply-rate"},
      {{"--reply-burst", "0"}, "bad value for --reply-burst"},
  };
  for (const auto& c : cases) {
    const Run run = run_chatd(c.args);
    INFO("chatd " << c.args.front() << " ...: " << run.output);
    CHECK(run.exit_status == 2);
    CHECK(run.output.find(c.says) != std::string::npos);
  }
}

TEST_CASE("chatd accepts the smallest limits it allows and starts") {
  // 6 x 10 + 1024 bytes: the longest line with --max-text 10.
  const Run run = run_chatd({"--max-line", "64", "--max-text", "10", "--queue-bytes", "1084", "--history", "1000000"});
  INFO(run.output);
  CHECK(run.exit_status == -1);  // still serving when stopped
  CHECK(run.output.find("listening on") != std::string::npos);
}
