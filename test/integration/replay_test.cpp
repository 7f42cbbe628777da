// chat-replay end to end: a live session recorded through the proxy replays
// against a fresh server, and a wrong expectation fails with a clear report.
#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

#include "async_test.hpp"

using namespace corochat;
using namespace corochat::client;
using namespace corochat::test;

namespace {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs a command (bounded by `timeout` seconds) and collects what it prints.
CommandResult run_command(const std::string& command, int timeout = 60) {
  CommandResult result;
  const std::string bounded = "timeout " + std::to_string(timeout) + " " + command + " 2>&1";
  FILE* pipe = ::popen(bounded.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer;
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string replay(const ChatdProcess& chatd, const std::string& arguments) {
  return std::string(CHAT_REPLAY_PATH) + " --host 127.0.0.1 --port " + chatd.port() + " " + arguments;
}

std::string temp_path(const char* name) {
  return "/tmp/chat-replay-test-" + std::to_string(::getpid()) + "-" + name;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A short session of two clients, driven through whatever `port` leads to.
void chat_session(const std::string& port) {
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    Client alice(t.io.get_executor());
    Client bob(t.io.get_executor());
    auto ec = co_await alice.connect("127.0.0.1", port);
    REQUIRE_FALSE(ec);
    ec = co_await bob.connect("127.0.0.1", port);
    REQUIRE_FALSE(ec);
    auto welcome = co_await alice.hello("alice", patience);
    REQUIRE(welcome.kind() == EventType::welcome);
    co_await expect(alice, EventType::joined);
    welcome = co_await bob.hello("bob", patience);
    REQUIRE(welcome.kind() == EventType::welcome);
    co_await expect(bob, EventType::joined);
    co_await expect(alice, EventType::joined, "nick", "bob");

    auto say = request::say("lobby", "hi bob");
    say["id"] = 1;
    co_await send(alice, say);
    co_await expect(alice, EventType::message, "text", "hi bob");
    co_await expect(bob, EventType::message, "text", "hi bob");
    co_await send(bob, request::msg("alice", "psst"));
    co_await expect(bob, EventType::private_message);
    co_await expect(alice, EventType::private_message, "text", "psst");
    co_await send_raw(bob, "not json\n");
    co_await expect_error(bob, ErrorCode::bad_json);
    co_await send(bob, request::of_type("quit"));
    co_await expect_bye(bob, ByeReason::quit);
    co_await expect_closed(bob);
    co_await expect(alice, EventType::left, "reason", "quit");
    json::object history = request::of_type("history");
    history["room"] = "lobby";
    co_await send(alice, history);
    co_await expect(alice, EventType::history);
    alice.finish_sending();
    co_await expect_closed(alice);
  });
  t.run();
}

}  // namespace

TEST_CASE("a recorded session replays against a fresh server, and a broken one fails clearly") {
  const std::string recording = temp_path("recorded.scn");
  {
    ChatdProcess live;
    auto recorder = ChatdProcess::program({CHAT_REPLAY_PATH, "record", "--listen", "127.0.0.1:0", "--upstream",
                                           "127.0.0.1:" + live.port(), "--out", recording});
    chat_session(recorder.port());
    recorder.signal(SIGTERM);
    REQUIRE(recorder.wait_exit(std::chrono::seconds(10)) == 0);
  }
  const std::string scenario = read_file(recording);
  INFO(scenario);
  CHECK(scenario.find("c1 send {\"type\":\"say\",\"room\":\"lobby\",\"text\":\"hi bob\",\"id\":1}") != std::string::npos);
  CHECK(scenario.find("c2 send-raw \"not json\\n\"") != std::string::npos);
  CHECK(scenario.find("\"ts\"") == std::string::npos);  // volatile fields left out
  CHECK(scenario.find("c2 expect-close") != std::string::npos);
  CHECK(scenario.find("c1 close") != std::string::npos);

  {
    ChatdProcess fresh;
    auto result = run_command(replay(fresh, recording));
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("1 passed, 0 failed") != std::string::npos);
  }

  // The same recording with one expectation broken on purpose.
  std::string broken = scenario;
  const std::string wanted = "\"text\":\"psst\"";
  const std::size_t at = broken.find(wanted, broken.find("c1 expect {\"type\":\"private\""));
  REQUIRE(at != std::string::npos);
  broken.replace(at, wanted.size(), "\"text\":\"hello\"");
  const std::string broken_path = temp_path("broken.scn");
  std::ofstream(broken_path) << broken;
  const int broken_line = 1 + static_cast<int>(std::count(broken.begin(), broken.begin() + static_cast<long>(at), '\n'));
  {
    ChatdProcess fresh;
    const std::string junit = temp_path("junit.xml");
    auto result = run_command(replay(fresh, "--junit " + junit + " " + broken_path));
    INFO(result.output);
    CHECK(result.exit_code == 1);
    // The report names the step, what was expected and what came instead.
    CHECK(result.output.find("FAIL " + broken_path + ":" + std::to_string(broken_line) + ": c1 expect") !=
          std::string::npos);
    CHECK(result.output.find("expected: {\"type\":\"private\"") != std::string::npos);
    CHECK(result.output.find("\"text\":\"psst\"") != std::string::npos);
    CHECK(result.output.find("last lines received") != std::string::npos);
    const std::string xml = read_file(junit);
    CHECK(xml.find("failures=\"1\"") != std::string::npos);
    ::unlink(junit.c_str());
  }
  ::unlink(recording.c_str());
  ::unlink(broken_path.c_str());
}

TEST_CASE("a scenario file with a mistake is refused before anything runs") {
  const std::string path = temp_path("bad.scn");
  std::ofstream(path) << "alice connect\n# a comment\nalice frobnicate\n";
  ChatdProcess chatd;
  auto result = run_command(replay(chatd, path));
  INFO(result.output);
  CHECK(result.exit_code == 2);
  CHECK(result.output.find(path + ":3: unknown step 'frobnicate'") != std::string::npos);
  // Nothing ran: the server saw no connection.
  CHECK(chatd.log().find("connect") == std::string::npos);
  ::unlink(path.c_str());
}
