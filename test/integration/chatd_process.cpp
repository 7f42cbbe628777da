#include "chatd_process.hpp"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace corochat::test {

namespace {
std::vector<std::string> chatd_argv(std::vector<std::string> args) {
  std::vector<std::string> argv = {CHATD_PATH, "--host", "127.0.0.1", "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}
}  // namespace

namespace {
std::string make_temp_dir(const char* prefix) {
  std::string path = std::string("/tmp/") + prefix + "-XXXXXX";
  if (!::mkdtemp(path.data())) throw std::runtime_error("mkdtemp failed");
  return path;
}

bool names_store(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "--store" || a == "--data-dir" || a.starts_with("--store=") || a.starts_with("--data-dir=");
  });
}

std::vector<std::string> with_data_dir(std::vector<std::string> args, const std::string& dir) {
  if (!dir.empty()) args.insert(args.end(), {"--data-dir", dir + "/data"});
  return args;
}
}  // namespace

ScratchDir::ScratchDir() : path_(make_temp_dir("chatd-test-dir")) {}
ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ChatdProcess::Launch ChatdProcess::chatd_launch(std::vector<std::string> args) {
  std::string dir = names_store(args) ? std::string() : make_temp_dir("chatd-test-data");
  std::vector<std::string> argv = chatd_argv(with_data_dir(std::move(args), dir));
  return {std::move(argv), std::move(dir)};
}

ChatdProcess::ChatdProcess(std::vector<std::string> args) : ChatdProcess(chatd_launch(std::move(args))) {}

ChatdProcess::ChatdProcess(ChatdProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      log_path_(std::move(other.log_path_)),
      host_(std::move(other.host_)),
      port_(std::move(other.port_)),
      stats_seen_(other.stats_seen_),
      data_dir_(std::exchange(other.data_dir_, {})) {}

ChatdProcess::ChatdProcess(Launch launch) : data_dir_(std::move(launch.data_dir)) {
  std::vector<std::string>& argv_strings = launch.argv;
  char path[] = "/tmp/chatd-test-XXXXXX";
  int log_fd = ::mkostemp(path, O_CLOEXEC);  // dup2 in the child clears the flag on stderr
  if (log_fd < 0) throw std::runtime_error("mkstemp failed");
  log_path_ = path;

  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    die_with_parent(parent);
    ::dup2(log_fd, STDERR_FILENO);
    int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);

  // Wait (bounded) for "chatd: listening on HOST port N".
  const std::string marker = "listening on ";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = log();
    if (auto at = text.find(marker); at != std::string::npos && text.find('\n', at) != std::string::npos) {
      std::istringstream line(text.substr(at + marker.size()));
      std::string word;
      line >> host_ >> word >> port_;  // "HOST port N..."
      port_ = port_.substr(0, port_.find_first_not_of("0123456789"));
      return;
    }
    if (wait_exit(std::chrono::milliseconds(0))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // A constructor that throws gets no destructor call: clean up here.
  const std::string what = argv_strings[0] + " did not start: " + log();
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ::unlink(log_path_.c_str());
  std::error_code ignored;
  if (!data_dir_.empty()) std::filesystem::remove_all(data_dir_, ignored);
  throw std::runtime_error(what);
}

ChatdProcess::~ChatdProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (!log_path_.empty()) ::unlink(log_path_.c_str());
  std::error_code ignored;
  if (!data_dir_.empty()) std::filesystem::remove_all(data_dir_, ignored);
}

void ChatdProcess::signal(int signal_number) {
  if (pid_ > 0) ::kill(pid_, signal_number);
}

std::optional<int> ChatdProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string ChatdProcess::log() const {
  std::ifstream in(log_path_);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::map<std::string, std::size_t> ChatdProcess::stats() {
  const std::string marker = "chatd: stats ";
  signal(SIGUSR1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = log();
    // The line after the last one taken, once it is whole.
    std::size_t at = 0;
    for (std::size_t i = 0; i <= stats_seen_; ++i) {
      at = text.find(marker, i == 0 ? 0 : at + 1);
      if (at == std::string::npos) break;
    }
    if (at != std::string::npos) {
      const auto end = text.find('\n', at);
      if (end != std::string::npos) {
        ++stats_seen_;
        std::map<std::string, std::size_t> values;
        std::istringstream fields(text.substr(at + marker.size(), end - at - marker.size()));
        for (std::string field; fields >> field;)
          if (auto eq = field.find('='); eq != std::string::npos)
            values[field.substr(0, eq)] = std::stoull(field.substr(eq + 1));
        return values;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  throw std::runtime_error("chatd did not answer SIGUSR1 with its stats: " + log());
}

namespace {
std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

ProgramRun run_program(std::vector<std::string> argv_strings, std::chrono::milliseconds limit,
                       const std::string& stop_when) {
  char path[] = "/tmp/corochat-run-XXXXXX";
  const int out = ::mkostemp(path, O_CLOEXEC);
  if (out < 0) throw std::runtime_error("mkstemp failed");
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    die_with_parent(parent);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out);
  ProgramRun run;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    const bool seen = !stop_when.empty() && file_text(path).find(stop_when) != std::string::npos;
    if (seen || std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  run.output = file_text(path);
  ::unlink(path);
  return run;
}

void die_with_parent(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // it ended before the line above
}

}  // namespace corochat::test
