// chat-client end to end against a real chatd: piped input must arrive whole
// and in order under the flood limit, and on a terminal incoming text must be
// shown above the line being typed, with escape sequences neutralised.
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "async_test.hpp"

using namespace corochat;
using namespace corochat::client;
using namespace corochat::test;

namespace {

// A chat-client child process; killed if still running when the test ends.
struct ChildProcess {
  pid_t pid = -1;
  int input = -1;  // its stdin (a pipe) or the pty master
  std::string output_path;

  ~ChildProcess() {
    if (input >= 0) ::close(input);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (!output_path.empty()) ::unlink(output_path.c_str());
  }

  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::string output() const {
    std::ifstream in(output_path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

std::vector<char*> argv_of(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

// In the child: no settings file and no input history of the user running
// the tests; a test that wants them sets HOME or XDG_* after this.
void keep_away_from_home() {
  ::setenv("HOME", "/nonexistent", 1);
  ::unsetenv("XDG_CONFIG_HOME");
  ::unsetenv("XDG_STATE_HOME");
}

// chat-client with stdin a pipe, stdout and stderr to a file.
void start_piped(ChildProcess& child, std::vector<std::string> args) {
  char path[] = "/tmp/chat-client-test-XXXXXX";
  const int out = ::mkostemp(path, O_CLOEXEC);
  REQUIRE(out >= 0);
  child.output_path = path;
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);  // no other child may hold its ends open
  args.insert(args.begin(), CHAT_CLIENT_PATH);
  auto argv = argv_of(args);
  const pid_t parent = ::getpid();
  child.pid = ::fork();
  REQUIRE(child.pid >= 0);
  if (child.pid == 0) {
    die_with_parent(parent);
    keep_away_from_home();
    ::dup2(fds[0], STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[0]);
  ::close(out);
  child.input = fds[1];
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    REQUIRE(n > 0);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Runs one coroutine of the test to its end (bounded), between the test's
// synchronous steps on the pseudo-terminal.
template <class T>
T run_step(asio::io_context& io, asio::awaitable<T> step) {
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(step), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) result = std::move(value);
  });
  io.restart();
  io.run_for(std::chrono::seconds(30));
  if (failure) std::rethrow_exception(failure);
  REQUIRE(result);
  return std::move(*result);
}

// Every message from `from` that `client` receives, until `count` came.
asio::awaitable<std::vector<std::string>> collect_texts(Client& client, std::string from, std::size_t count,
                                                        Millis timeout) {
  std::vector<std::string> texts;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (texts.size() < count) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    Event e = co_await client.next(std::max(left, Millis(0)));
    if (e.ec) break;
    if (e.kind() == EventType::message && e.value.at("from") == json::value(from)) texts.push_back(str(e.value.at("text")));
  }
  co_return texts;
}

void piped_lines_arrive_in_order(std::vector<std::string> chatd_args, int count, std::chrono::seconds limit) {
  ChatdProcess chatd(std::move(chatd_args));
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));

  ChildProcess client;
  start_piped(client, {chatd.host() + ":" + chatd.port(), "--nick", "piper"});
  std::string input;
  for (int i = 1; i <= count; ++i) input += "line " + std::to_string(i) + " of " + std::to_string(count) + "\n";
  std::thread writer([&] {
    write_all(client.input, input);
    ::close(client.input);
    client.input = -1;
  });
  std::vector<std::string> texts =
      run_step(io, collect_texts(*bob, "piper", static_cast<std::size_t>(count), Millis(limit)));
  writer.join();
  INFO(client.output());
  REQUIRE(texts.size() == static_cast<std::size_t>(count));
  for (int i = 1; i <= count; ++i)
    CHECK(texts[static_cast<std::size_t>(i - 1)] == "line " + std::to_string(i) + " of " + std::to_string(count));
  CHECK(client.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

// Skips events until one of type `kind` with `field` equal to `value` (bounded).
asio::awaitable<bool> wait_for(Client& client, EventType kind, std::string field, std::string value) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    Event e = co_await client.next_of(kind, std::max(left, Millis(0)));
    INFO("waiting for a " << protocol::to_string(kind) << " with " << field << " " << value);
    REQUIRE_FALSE(e.ec);
    if (const json::value* v = e.value.if_contains(field); v && *v == json::value(value)) co_return true;
  }
}

// Waits (bounded) until a piped client's output holds `needle`; returns that output.
std::string output_showing(const ChildProcess& child, std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string output;
  while ((output = child.output()).find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return output;
}

// Reads the pty until `needle` shows up in `screen` (true) or the deadline.
// Only text after offset `from` counts.
bool read_until(int fd, std::string& screen, std::string_view needle, std::chrono::milliseconds timeout,
                std::size_t from = 0) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (screen.find(needle, from) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    screen.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

// chat-client on a pseudo-terminal `columns` wide, as an interactive user runs
// it; `environment` is set in the child (an empty value unsets the variable).
int start_on_terminal(ChildProcess& child, std::vector<std::string> args, unsigned short columns,
                      const std::vector<std::pair<std::string, std::string>>& environment = {}) {
  int master = -1;
  winsize size{};
  size.ws_row = 24;
  size.ws_col = columns;
  args.insert(args.begin(), CHAT_CLIENT_PATH);
  auto argv = argv_of(args);
  const pid_t parent = ::getpid();
  child.pid = ::forkpty(&master, nullptr, nullptr, &size);
  REQUIRE(child.pid >= 0);
  if (child.pid == 0) {
    die_with_parent(parent);
    keep_away_from_home();
    ::setenv("TERM", "xterm", 1);
    ::unsetenv("NO_COLOR");
    for (const auto& [name, value] : environment) {
      if (value.empty()) ::unsetenv(name.c_str());
      else ::setenv(name.c_str(), value.c_str(), 1);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  child.input = master;
  return master;
}

// The locale variables as a user's shell would have them: only `name` set.
std::vector<std::pair<std::string, std::string>> locale_environment(const std::string& name,
                                                                    const std::string& value) {
  std::vector<std::pair<std::string, std::string>> environment = {
      {"LC_ALL", ""}, {"LC_CTYPE", ""}, {"LANG", ""}, {"LANGUAGE", ""}};
  environment.emplace_back(name, value);
  return environment;
}

}  // namespace

TEST_CASE("piped lines arrive whole and in order under the default flood limit", "[chat-client]") {
  // 60 lines at 10 a second after a burst of 20: about five seconds of pacing.
  piped_lines_arrive_in_order({}, 60, std::chrono::seconds(40));
}

TEST_CASE("a thousand piped lines arrive whole and in order when paced", "[chat-client]") {
  piped_lines_arrive_in_order({"--flood-rate", "200", "--flood-burst", "20"}, 1000, std::chrono::seconds(60));
}

TEST_CASE("on a terminal, incoming text shows above the line being typed, neutralised", "[chat-client]") {
  ChatdProcess chatd;
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));

  ChildProcess alice;
  const int master = start_on_terminal(alice, {chatd.host() + ":" + chatd.port(), "--nick", "alice"}, 120);

  std::string screen;
  REQUIRE(read_until(master, screen, "alice joined lobby", std::chrono::seconds(10)));
  CHECK(run_step(io, wait_for(*bob, EventType::joined, "nick", "alice")));

  write_all(master, "hello wor");
  REQUIRE(read_until(master, screen, "hello wor", std::chrono::seconds(5)));

  auto say_both = [&]() -> asio::awaitable<bool> {
    co_await send(*bob, request::say("lobby", "plain from bob"));
    co_await send(*bob, request::say("lobby", "evil \x1b[2J\x1b]0;pwned\x07 end"));
    co_return co_await wait_for(*bob, EventType::message, "text", "plain from bob");
  };
  CHECK(run_step(io, say_both()));
  REQUIRE(read_until(master, screen, "plain from bob", std::chrono::seconds(5)));
  REQUIRE(read_until(master, screen, "pwned", std::chrono::seconds(5)));
  // The half-typed line is drawn again after the incoming line.
  const std::size_t evil_at = screen.find("pwned");
  CHECK(read_until(master, screen, "hello wor", std::chrono::seconds(5), evil_at));

  // The injected escapes arrive as visible text, never as escapes.
  INFO(screen);
  CHECK(screen.find("evil ^[[2J^[]0;pwned^G end") != std::string::npos);
  CHECK(screen.find("\x1b[2J") == std::string::npos);
  CHECK(screen.find("\x1b]0;") == std::string::npos);
  CHECK(screen.find('\x07') == std::string::npos);

  write_all(master, "ld\r");
  CHECK(run_step(io, wait_for(*bob, EventType::message, "text", "hello world")));

  write_all(master, "/quit\r");
  CHECK(alice.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("on a terminal, typed accents, CJK and emoji arrive intact while messages come in", "[chat-client]") {
  // A UTF-8 locale from the environment, and one that is not UTF-8 (the
  // client still reads the keyboard as UTF-8: the protocol is UTF-8).
  const auto [variable, locale] = GENERATE(std::pair<std::string, std::string>{"LANG", "C.UTF-8"},
                                           std::pair<std::string, std::string>{"LC_ALL", "C"});
  INFO(variable << "=" << locale);
  ChatdProcess chatd({"--flood-rate", "0"});
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));
  ChildProcess alice;
  const int master = start_on_terminal(alice, {chatd.host() + ":" + chatd.port(), "--nick", "alice"}, 120,
                                       locale_environment(variable, locale));
  std::string screen;
  REQUIRE(read_until(master, screen, "alice joined lobby", std::chrono::seconds(10)));
  CHECK(run_step(io, wait_for(*bob, EventType::joined, "nick", "alice")));

  // Once the screen lacks something, the rest is not waited for: the text bob
  // receives tells what went wrong.
  bool screen_right = true;
  auto expect_on_screen = [&](std::string_view needle, std::size_t from) {
    if (!screen_right) return;
    screen_right = read_until(master, screen, needle, std::chrono::seconds(5), from);
    INFO("expected on the screen: " << needle);
    CHECK(screen_right);
  };

  // One write a keystroke, each echoed before the next; bob talks after the
  // marked ones, and the half-typed line must come back whole under his line.
  const std::vector<std::pair<std::string, bool>> keys = {
      {"h", false}, {"é", true}, {"l", false}, {"l", false}, {"o", false}, {" ", false}, {"✓", true},
      {" ", false}, {"日", false}, {"本", true}, {"語", false}, {" ", false}, {"😀", true}, {" ", false},
      {"d", false}, {"o", false}, {"n", false}, {"e", false}};
  std::string typed;
  int news = 0;
  for (const auto& [key, then_news] : keys) {
    const std::size_t before = screen.size();
    write_all(master, key);
    typed += key;
    expect_on_screen(key, before);
    if (!then_news) continue;
    const std::string text = "news " + std::to_string(++news);
    run_step(io, [&]() -> asio::awaitable<bool> {
      co_await send(*bob, request::say("lobby", text));
      co_return co_await wait_for(*bob, EventType::message, "text", text);
    }());
    const std::size_t news_from = screen.size();
    expect_on_screen(text, news_from);
    expect_on_screen(typed, screen.find(text, news_from));
  }
  write_all(master, "\r");
  const auto received = run_step(io, collect_texts(*bob, "alice", 1, patience));
  INFO(screen);
  CHECK(received == std::vector<std::string>{"héllo ✓ 日本語 😀 done"});

  write_all(master, "/quit\r");
  CHECK(alice.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("on a narrow terminal, a wrapped line of wide characters is erased whole for an incoming line",
          "[chat-client]") {
  ChatdProcess chatd;
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));
  ChildProcess alice;
  const int master = start_on_terminal(alice, {chatd.host() + ":" + chatd.port(), "--nick", "alice"}, 20,
                                       locale_environment("LANG", "C.UTF-8"));
  std::string screen;
  REQUIRE(read_until(master, screen, "alice joined lobby", std::chrono::seconds(10)));
  CHECK(run_step(io, wait_for(*bob, EventType::joined, "nick", "alice")));

  // "[lobby] " and six two-column characters fill the 20 columns; the
  // seventh, and the cursor, are on the second row.
  for (int i = 0; i < 7; ++i) {
    const std::size_t before = screen.size();
    write_all(master, "日");
    REQUIRE(read_until(master, screen, "日", std::chrono::seconds(5), before));
  }
  const std::size_t news_from = screen.size();
  run_step(io, [&]() -> asio::awaitable<bool> {
    co_await send(*bob, request::say("lobby", "wide news"));
    co_return co_await wait_for(*bob, EventType::message, "text", "wide news");
  }());
  REQUIRE(read_until(master, screen, "wide news", std::chrono::seconds(5), news_from));
  // The erase goes up one row to the prompt before clearing to the end of
  // the screen; without that, the first row would stay as a stale copy.
  const std::size_t erase_at = screen.rfind("\r\x1b[J", screen.find("wide news", news_from));
  INFO(screen.substr(news_from));
  REQUIRE(erase_at != std::string::npos);
  REQUIRE(erase_at >= news_from);
  CHECK(screen.substr(erase_at - 4, 4) == "\x1b[1A");

  write_all(master, "\r");
  const auto received = run_step(io, collect_texts(*bob, "alice", 1, patience));
  CHECK(received == std::vector<std::string>{"日日日日日日日"});
  write_all(master, "/quit\r");
  CHECK(alice.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("after a dropped link chat-client resumes and shows what it missed, by seq", "[chat-client]") {
  ChatdProcess chatd({"--flood-rate", "0"});
  char path[] = "/tmp/chat-client-proxy-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  // chat-replay's recording proxy is the link: killing it drops the
  // connection as a network failure would, while chatd keeps running.
  auto start_link = [&](const std::string& port) {
    return ChatdProcess::program({CHAT_REPLAY_PATH, "record", "--listen", "127.0.0.1:" + port, "--upstream",
                                  "127.0.0.1:" + chatd.port(), "--out", path});
  };
  auto link = std::make_optional(start_link("0"));
  const std::string link_port = link->port();

  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));
  ChildProcess roamer;
  start_piped(roamer, {"127.0.0.1:" + link_port, "--nick", "roamer"});
  run_step(io, wait_for(*bob, EventType::joined, "nick", "roamer"));
  write_all(roamer.input, "before the drop\n");
  run_step(io, wait_for(*bob, EventType::message, "text", "before the drop"));
  // A second room where roamer sees no message before the drop.
  auto join_quiet = request::join("quiet");
  run_step(io, [&]() -> asio::awaitable<bool> {
    co_await send(*bob, join_quiet);
    co_return true;
  }());
  run_step(io, wait_for(*bob, EventType::joined, "nick", "bob"));
  write_all(roamer.input, "/join quiet\n");
  run_step(io, wait_for(*bob, EventType::joined, "nick", "roamer"));
  // ...and roamer has its own answer: a join still in flight at the drop is
  // simply sent again, with nothing to catch up in a room it never knew it was in.
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       roamer.output().find("roamer joined quiet") == std::string::npos && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(roamer.output().find("roamer joined quiet") != std::string::npos);

  link.reset();  // SIGKILL: both sides of the link see it drop
  run_step(io, wait_for(*bob, EventType::left, "nick", "roamer"));
  for (const char* text : {"missed one", "missed two", "quiet one"}) {
    auto say = request::say(std::string_view(text) == "quiet one" ? "quiet" : "lobby", text);
    run_step(io, [&]() -> asio::awaitable<bool> {
      co_await send(*bob, say);
      co_return true;
    }());
  }
  link.emplace(start_link(link_port));
  run_step(io, wait_for(*bob, EventType::joined, "nick", "roamer"));

  // The catch-up shows exactly what was said while away, once, in order.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string output;
  while (((output = roamer.output()).find("missed two") == std::string::npos ||
          output.find("quiet one") == std::string::npos) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  INFO(output);
  const auto first = output.find("missed one");
  const auto second = output.find("missed two");
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  CHECK(first < second);
  CHECK(output.find("missed one", first + 1) == std::string::npos);
  CHECK(output.find("missed in lobby") != std::string::npos);
  CHECK(output.find("missed in quiet") != std::string::npos);
  CHECK(output.find("quiet one") != std::string::npos);
  CHECK(output.find("restarted") == std::string::npos);  // same server, same epoch

  write_all(roamer.input, "after the drop\n");
  run_step(io, wait_for(*bob, EventType::message, "text", "after the drop"));
  ::close(roamer.input);
  roamer.input = -1;
  const auto exit_status = roamer.wait_exit(std::chrono::seconds(10));
  INFO(roamer.output());
  CHECK(exit_status == std::optional<int>(0));
  link.reset();
  ::unlink(path);
}

TEST_CASE("after chatd restarts on its data directory chat-client catches up by seq and /history pages back",
          "[chat-client][catch-up]") {
  ScratchDir data;
  // At most three messages a reply: both the catch-up and /history take several pages.
  std::vector<std::string> args = {"--data-dir", data.path(), "--flood-rate", "0", "--history", "3"};
  std::optional<ChatdProcess> chatd(std::in_place, args);
  const std::string port = chatd->port();
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, *chatd, "bob"));
  ChildProcess roamer;
  start_piped(roamer, {"127.0.0.1:" + port, "--nick", "roamer"});
  run_step(io, wait_for(*bob, EventType::joined, "nick", "roamer"));
  const auto seen = request::say("lobby", "seen before the restart");
  run_step(io, [&]() -> asio::awaitable<bool> {
    co_await send(*bob, seen);
    co_return true;
  }());
  REQUIRE(output_showing(roamer, "seen before the restart", std::chrono::seconds(10)).find("seen before the restart") !=
          std::string::npos);

  // Stopped, roamer cannot reconnect before everything below has been said.
  REQUIRE(::kill(roamer.pid, SIGSTOP) == 0);
  chatd->signal(SIGTERM);
  REQUIRE(chatd->wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
  chatd.reset();
  bob.reset();
  args.insert(args.end(), {"--port", port});
  chatd.emplace(args);
  REQUIRE(chatd->port() == port);
  // Not bob: his nick is kept for him (and his token) for a while after the restart.
  auto carol = run_step(io, connect_client(io, *chatd, "carol"));
  std::vector<std::string> missed;
  for (int i = 1; i <= 8; ++i) missed.push_back("missed " + std::to_string(i) + " café 日本語 🙂");
  for (const auto& text : missed) {
    const auto say = request::say("lobby", text);
    run_step(io, [&]() -> asio::awaitable<bool> {
      co_await send(*carol, say);
      co_return true;
    }());
  }
  run_step(io, wait_for(*carol, EventType::message, "text", missed.back()));  // all stored
  REQUIRE(::kill(roamer.pid, SIGCONT) == 0);
  run_step(io, wait_for(*carol, EventType::joined, "nick", "roamer"));

  // Every missed message once, in order, after the heading; nothing seen before again.
  std::string output = output_showing(roamer, missed.back(), std::chrono::seconds(10));
  INFO(output);
  const auto heading = output.find("-- missed in lobby while disconnected:");
  REQUIRE(heading != std::string::npos);
  std::size_t previous = heading;
  for (const auto& text : missed) {
    const auto at = output.find(text, previous);
    INFO(text);
    REQUIRE(at != std::string::npos);
    CHECK(output.find(text, at + 1) == std::string::npos);
    previous = at;
  }
  CHECK(output.find("seen before the restart", heading) == std::string::npos);
  CHECK(output.find("restarted") == std::string::npos);  // same data directory, same epoch
  CHECK(output.find("not shown") == std::string::npos);

  // /history shows the latest three, then each repeat the three before.
  const std::size_t asked = output.size();
  write_all(roamer.input, "/history 3\n/history 3\n/history 3\n/history 3\n");
  output = output_showing(roamer, "-- no older messages in lobby", std::chrono::seconds(10));
  INFO(output);
  REQUIRE(output.find("-- no older messages in lobby", asked) != std::string::npos);
  std::vector<std::string> pages;
  for (std::size_t at = output.find("-- history of lobby", asked); at != std::string::npos;) {
    const std::size_t next = output.find("-- history of lobby", at + 1);
    pages.push_back(output.substr(at, next == std::string::npos ? std::string::npos : next - at));
    at = next;
  }
  REQUIRE(pages.size() == 3);
  const std::vector<std::vector<std::string>> expected = {
      {missed[5], missed[6], missed[7]}, {missed[2], missed[3], missed[4]}, {"seen before the restart", missed[0], missed[1]}};
  for (std::size_t page = 0; page < pages.size(); ++page) {
    INFO("page " << page << ": " << pages[page]);
    CHECK(pages[page].starts_with("-- history of lobby (3 messages)"));
    std::size_t before = 0;
    for (const auto& text : expected[page]) {
      const auto at = pages[page].find(text);
      CHECK(at != std::string::npos);
      CHECK(at >= before);
      before = at == std::string::npos ? before : at;
    }
    for (std::size_t other = 0; other < expected.size(); ++other)
      if (other != page)
        for (const auto& text : expected[other]) CHECK(pages[page].find(text) == std::string::npos);
  }

  ::close(roamer.input);
  roamer.input = -1;
  CHECK(roamer.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("a piped line the server cannot read is reported, and the lines after it still go", "[chat-client]") {
  ChatdProcess chatd({"--flood-rate", "0"});
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));
  ChildProcess client;
  start_piped(client, {chatd.host() + ":" + chatd.port(), "--nick", "piper"});
  write_all(client.input, "before\ncaf\xe9 latin-1, not UTF-8\nafter\n");
  ::close(client.input);
  client.input = -1;
  std::vector<std::string> texts = run_step(io, collect_texts(*bob, "piper", 2, Millis(10000)));
  CHECK(texts == std::vector<std::string>{"before", "after"});
  // Exit status 1: a line was refused, and said so.
  const auto status = client.wait_exit(std::chrono::seconds(10));
  INFO(client.output());
  CHECK(status == std::optional<int>(1));
  CHECK(client.output().find("!!") != std::string::npos);
}

TEST_CASE("chat-client talks over TLS, refuses a certificate it does not trust, and warns when insecure",
          "[chat-client][tls]") {
  char dir_name[] = "/tmp/chat-client-tls-XXXXXX";
  REQUIRE(::mkdtemp(dir_name));
  const std::string dir = dir_name;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::system(("rm -rf '" + dir + "'").c_str()); }
  } cleanup{dir};
  const std::string make_cert = "bash '" MAKE_CERT_PATH "' >/dev/null 2>&1 -o '";
  REQUIRE(std::system((make_cert + dir + "/server'").c_str()) == 0);
  REQUIRE(std::system((make_cert + dir + "/other'").c_str()) == 0);
  const std::string cert = dir + "/server/chatd.crt";

  ChatdProcess chatd({"--tls-cert", cert, "--tls-key", dir + "/server/chatd.key", "--tls-port", "0", "--no-plain"});
  const std::string server = chatd.host() + ":" + chatd.port();
  asio::io_context io;
  auto bob = run_step(io, [&]() -> asio::awaitable<std::unique_ptr<Client>> {
    auto client = std::make_unique<Client>(io.get_executor());
    TlsOptions tls;
    tls.enabled = true;
    tls.ca_file = cert;
    client->set_tls(tls);
    auto ec = co_await client->connect(chatd.host(), chatd.port());
    REQUIRE_FALSE(ec);
    Event welcome = co_await client->hello("bob", patience);
    REQUIRE(welcome.kind() == EventType::welcome);
    co_return client;
  }());

  ChildProcess trusted;
  start_piped(trusted, {server, "--nick", "trusting", "--tls", "--ca", cert});
  write_all(trusted.input, "hello over TLS\n");
  ::close(std::exchange(trusted.input, -1));
  auto texts = run_step(io, collect_texts(*bob, "trusting", 1, patience));
  INFO(trusted.output());
  CHECK(texts == std::vector<std::string>{"hello over TLS"});
  CHECK(trusted.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));

  ChildProcess refusing;
  start_piped(refusing, {server, "--nick", "refusing", "--ca", dir + "/other/chatd.crt"});
  ::close(std::exchange(refusing.input, -1));
  CHECK(refusing.wait_exit(std::chrono::seconds(10)) == std::optional<int>(1));
  CHECK(refusing.output().find("certificate verify failed") != std::string::npos);

  ChildProcess insecure;
  start_piped(insecure, {server, "--nick", "careless", "--insecure"});
  write_all(insecure.input, "unchecked\n");
  ::close(std::exchange(insecure.input, -1));
  texts = run_step(io, collect_texts(*bob, "careless", 1, patience));
  CHECK(texts == std::vector<std::string>{"unchecked"});
  CHECK(insecure.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
  CHECK(insecure.output().find("warning: --insecure") != std::string::npos);
}

namespace {

// Sends `request` as `client` and waits (bounded) for the event it causes.
asio::awaitable<bool> send_then_wait(Client& client, json::object request, EventType kind, std::string field,
                                     std::string value) {
  co_await send(client, request);
  co_return co_await wait_for(client, kind, std::move(field), std::move(value));
}

// The next message `client` receives with `text` (bounded), whole.
asio::awaitable<json::object> message_with_text(Client& client, std::string text) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    Event e = co_await client.next_of(EventType::message, std::max(left, Millis(0)));
    INFO("waiting for a message " << text);
    REQUIRE_FALSE(e.ec);
    if (e.value.at("text") == json::value(text)) co_return e.value;
  }
}

}  // namespace

TEST_CASE("on a terminal, the prompt counts unread lines per room, marks mentions and rings the bell",
          "[chat-client][activity]") {
  ChatdProcess chatd({"--flood-rate", "0"});
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));
  CHECK(run_step(io, send_then_wait(*bob, request::join("dev"), EventType::joined, "room", "dev")));
  CHECK(run_step(io, send_then_wait(*bob, request::join("ops"), EventType::joined, "room", "ops")));
  ChildProcess alice;
  const int master =
      start_on_terminal(alice, {chatd.host() + ":" + chatd.port(), "--nick", "alice", "--room", "dev"}, 120);
  std::string screen;
  REQUIRE(read_until(master, screen, "alice joined dev", std::chrono::seconds(10)));
  write_all(master, "/join ops\r");
  REQUIRE(read_until(master, screen, "alice joined ops", std::chrono::seconds(5)));
  REQUIRE(read_until(master, screen, "[ops] ", std::chrono::seconds(5), screen.find("alice joined ops")));

  auto bob_says = [&](const char* room, const char* text) {
    CHECK(run_step(io, send_then_wait(*bob, request::say(room, text), EventType::message, "text", text)));
  };
  bob_says("lobby", "one");
  bob_says("dev", "two");
  bob_says("dev", "three");
  bob_says("ops", "seen as it comes");
  CHECK(read_until(master, screen, "[ops] lobby:1 dev:2 ", std::chrono::seconds(5)));
  CHECK(screen.find('\a') == std::string::npos);  // nothing named alice yet

  std::size_t from = screen.size();
  bob_says("lobby", "look here, Alice!");
  CHECK(read_until(master, screen, "\a", std::chrono::seconds(5), from));
  CHECK(read_until(master, screen, "[ops] lobby:2! dev:2 ", std::chrono::seconds(5), from));
  CHECK(screen.find("\x1b[1;7m<bob> look here, Alice!", from) != std::string::npos);  // bold reverse

  // Switching to a room clears its count, by name or by place.
  const std::size_t typed_at = screen.size();
  write_all(master, "/switch dev\r");
  CHECK(read_until(master, screen, "now talking in dev", std::chrono::seconds(5), typed_at));
  CHECK(read_until(master, screen, "[dev] lobby:2! ", std::chrono::seconds(5), screen.find("now talking in dev")));
  // The command as typed is on the screen once: the new prompt comes without it.
  CHECK(screen.find("/switch dev", screen.find("/switch dev", typed_at) + 1) == std::string::npos);
  write_all(master, "/1\r");
  CHECK(read_until(master, screen, "now talking in lobby", std::chrono::seconds(5)));
  bob_says("dev", "four");
  CHECK(read_until(master, screen, "[lobby] dev:1 ", std::chrono::seconds(5)));
  // /next goes to the room with activity.
  write_all(master, "/next\r");
  CHECK(read_until(master, screen, "now talking in dev", std::chrono::seconds(5)));
  bob_says("ops", "five");
  CHECK(read_until(master, screen, "[dev] ops:1 ", std::chrono::seconds(5)));

  // A private message always counts as a mention.
  from = screen.size();
  CHECK(run_step(io, send_then_wait(*bob, request::msg("alice", "psst"), EventType::private_message, "text", "psst")));
  CHECK(read_until(master, screen, "\a", std::chrono::seconds(5), from));
  CHECK(read_until(master, screen, "[dev] ops:1 *bob*:1! ", std::chrono::seconds(5), from));

  INFO(screen);
  write_all(master, "/quit\r");
  CHECK(alice.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("on a terminal, --no-bell keeps a mention quiet", "[chat-client][activity]") {
  ChatdProcess chatd;
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));
  ChildProcess alice;
  const int master =
      start_on_terminal(alice, {chatd.host() + ":" + chatd.port(), "--nick", "alice", "--no-bell"}, 120);
  std::string screen;
  REQUIRE(read_until(master, screen, "alice joined lobby", std::chrono::seconds(10)));
  CHECK(run_step(io, wait_for(*bob, EventType::joined, "nick", "alice")));
  CHECK(run_step(io, send_then_wait(*bob, request::say("lobby", "alice?"), EventType::message, "text", "alice?")));
  CHECK(read_until(master, screen, "alice?", std::chrono::seconds(5)));
  // A line after it, so the bell would have been written by then.
  CHECK(run_step(io, send_then_wait(*bob, request::say("lobby", "after"), EventType::message, "text", "after")));
  CHECK(read_until(master, screen, "after", std::chrono::seconds(5)));
  INFO(screen);
  CHECK(screen.find('\a') == std::string::npos);
  write_all(master, "/quit\r");
  CHECK(alice.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("/me goes to the other client as an action, and stays one in history", "[chat-client][action]") {
  ChatdProcess chatd;
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));
  const std::string server = chatd.host() + ":" + chatd.port();
  const std::vector<std::pair<std::string, std::string>> no_colour = {{"NO_COLOR", "1"}};
  ChildProcess alice;
  const int alice_pty = start_on_terminal(alice, {server, "--nick", "alice"}, 120, no_colour);
  std::string alice_screen;
  REQUIRE(read_until(alice_pty, alice_screen, "alice joined lobby", std::chrono::seconds(10)));
  ChildProcess carol;
  const int carol_pty = start_on_terminal(carol, {server, "--nick", "carol"}, 120, no_colour);
  std::string carol_screen;
  REQUIRE(read_until(carol_pty, carol_screen, "carol joined lobby", std::chrono::seconds(10)));

  write_all(alice_pty, "/me waves to all\r");
  const json::object seen = run_step(io, message_with_text(*bob, "waves to all"));
  INFO(json::serialize(seen));
  REQUIRE(seen.contains("action"));
  CHECK(seen.at("action") == json::value(true));
  CHECK(read_until(alice_pty, alice_screen, "* alice waves to all", std::chrono::seconds(5)));
  CHECK(read_until(carol_pty, carol_screen, "* alice waves to all", std::chrono::seconds(5)));

  const std::size_t asked = carol_screen.size();
  write_all(carol_pty, "/history 5\r");
  CHECK(read_until(carol_pty, carol_screen, "-- history of lobby", std::chrono::seconds(5), asked));
  CHECK(read_until(carol_pty, carol_screen, "* alice waves to all", std::chrono::seconds(5),
                   carol_screen.find("-- history of lobby", asked)));

  INFO(carol_screen);
  write_all(alice_pty, "/quit\r");
  write_all(carol_pty, "/quit\r");
  CHECK(alice.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
  CHECK(carol.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("on a terminal, an ignored nick's messages, private messages and comings and goings are hidden",
          "[chat-client][ignore]") {
  ChatdProcess chatd({"--flood-rate", "0"});
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));
  auto carol = run_step(io, connect_client(io, chatd, "carol"));
  ChildProcess alice;
  const int master = start_on_terminal(alice, {chatd.host() + ":" + chatd.port(), "--nick", "alice"}, 120,
                                       {{"NO_COLOR", "1"}});
  std::string screen;
  REQUIRE(read_until(master, screen, "alice joined lobby", std::chrono::seconds(10)));
  CHECK(run_step(io, wait_for(*bob, EventType::joined, "nick", "alice")));

  write_all(master, "/ignore BOB\r");
  REQUIRE(read_until(master, screen, "ignoring BOB", std::chrono::seconds(5)));
  const std::size_t from = screen.size();
  CHECK(run_step(io, send_then_wait(*bob, request::say("lobby", "spam in the room"), EventType::message, "text",
                                    "spam in the room")));
  CHECK(run_step(io, send_then_wait(*bob, request::msg("alice", "spam for alice"), EventType::private_message, "text",
                                    "spam for alice")));
  CHECK(run_step(io, send_then_wait(*bob, request::part("lobby"), EventType::left, "nick", "bob")));
  CHECK(run_step(io, send_then_wait(*bob, request::join("lobby"), EventType::joined, "nick", "bob")));
  // carol's line comes after all of bob's: once it shows, bob's would have.
  CHECK(run_step(io, send_then_wait(*carol, request::say("lobby", "carol was here"), EventType::message, "text",
                                    "carol was here")));
  REQUIRE(read_until(master, screen, "carol was here", std::chrono::seconds(5), from));
  {
    const std::string after = screen.substr(from);
    INFO(after);
    CHECK(after.find("spam") == std::string::npos);
    CHECK(after.find("bob left") == std::string::npos);
    CHECK(after.find("bob joined") == std::string::npos);
    CHECK(after.find('\a') == std::string::npos);  // nor does a hidden private message ring
    CHECK(after.find("*bob*") == std::string::npos);
  }

  write_all(master, "/unignore bob\r");
  REQUIRE(read_until(master, screen, "no longer ignoring bob", std::chrono::seconds(5)));
  CHECK(run_step(io, send_then_wait(*bob, request::say("lobby", "back again"), EventType::message, "text", "back again")));
  CHECK(read_until(master, screen, "<bob> back again", std::chrono::seconds(5)));
  write_all(master, "/quit\r");
  CHECK(alice.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("on a terminal, a paste of many lines is sent only when confirmed, paced under the limit",
          "[chat-client][paste]") {
  // A low limit: eight lines at once would be over the burst.
  ChatdProcess chatd({"--flood-rate", "5", "--flood-burst", "3"});
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));
  ChildProcess alice;
  const int master = start_on_terminal(alice, {chatd.host() + ":" + chatd.port(), "--nick", "alice"}, 120,
                                       {{"NO_COLOR", "1"}});
  std::string screen;
  REQUIRE(read_until(master, screen, "alice joined lobby", std::chrono::seconds(10)));
  CHECK(run_step(io, wait_for(*bob, EventType::joined, "nick", "alice")));

  std::string paste;
  for (int i = 1; i <= 8; ++i) paste += "pasted " + std::to_string(i) + "\r";
  paste += "/quit\r";  // pasted text, not a command
  write_all(master, paste);
  REQUIRE(read_until(master, screen, "send 9 lines to lobby? [y/N]", std::chrono::seconds(5)));
  write_all(master, "y");
  std::vector<std::string> texts = run_step(io, collect_texts(*bob, "alice", 9, Millis(15000)));
  std::vector<std::string> expected;
  for (int i = 1; i <= 8; ++i) expected.push_back("pasted " + std::to_string(i));
  expected.push_back("/quit");
  CHECK(texts == expected);

  // Refused: nothing goes, and typing works as before.
  const std::size_t from = screen.size();
  write_all(master, "no 1\rno 2\rno 3\rno 4\rno 5\rno 6\r");
  REQUIRE(read_until(master, screen, "send 6 lines to lobby? [y/N]", std::chrono::seconds(5), from));
  write_all(master, "n");
  REQUIRE(read_until(master, screen, "not sent: 6 pasted lines", std::chrono::seconds(5), from));
  write_all(master, "typed after\r");
  CHECK(run_step(io, collect_texts(*bob, "alice", 1, patience)) == std::vector<std::string>{"typed after"});

  INFO(screen);
  CHECK(screen.find("!!") == std::string::npos);  // never over the flood limit
  write_all(master, "/quit\r");
  CHECK(alice.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("on a terminal, settings come from client.toml and typed lines are kept for the next run",
          "[chat-client][config]") {
  ChatdProcess chatd;
  asio::io_context io;
  auto bob = run_step(io, connect_client(io, chatd, "bob"));
  char dir_name[] = "/tmp/chat-client-home-XXXXXX";
  REQUIRE(::mkdtemp(dir_name));
  const std::string home = dir_name;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::system(("rm -rf '" + dir + "'").c_str()); }
  } cleanup{home};
  REQUIRE(std::system(("mkdir -p '" + home + "/.config/corochat'").c_str()) == 0);
  {
    std::ofstream config(home + "/.config/corochat/client.toml");
    config << "# as a user would keep it\n"
           << "server = \"" << chatd.host() << ":" << chatd.port() << "\"\n"
           << "nick = \"fromfile\"\n"
           << "highlight = [\"deploy\"]\n";
  }
  const std::vector<std::pair<std::string, std::string>> environment = {{"HOME", home}, {"NO_COLOR", "1"}};

  ChildProcess first;
  const int first_pty = start_on_terminal(first, {}, 120, environment);  // everything from the file
  std::string screen;
  REQUIRE(read_until(first_pty, screen, "fromfile joined lobby", std::chrono::seconds(10)));
  CHECK(run_step(io, wait_for(*bob, EventType::joined, "nick", "fromfile")));
  std::size_t from = screen.size();
  CHECK(run_step(io, send_then_wait(*bob, request::say("lobby", "deploy at noon"), EventType::message, "text",
                                    "deploy at noon")));
  CHECK(read_until(first_pty, screen, "\a", std::chrono::seconds(5), from));  // the file's highlight word
  write_all(first_pty, "remember this line\r");
  CHECK(run_step(io, collect_texts(*bob, "fromfile", 1, patience)) ==
        std::vector<std::string>{"remember this line"});
  write_all(first_pty, "/quit\r");
  CHECK(first.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));

  struct stat kept {};
  REQUIRE(::stat((home + "/.local/state/corochat/history").c_str(), &kept) == 0);
  CHECK((kept.st_mode & 0777) == 0600);  // it holds private messages too

  // The command line wins over the file; Up brings back the last run's lines.
  ChildProcess second;
  const int second_pty = start_on_terminal(second, {"--nick", "again"}, 120, environment);
  std::string second_screen;
  REQUIRE(read_until(second_pty, second_screen, "again joined lobby", std::chrono::seconds(10)));
  from = second_screen.size();
  write_all(second_pty, "\x1b[A");  // /quit
  REQUIRE(read_until(second_pty, second_screen, "/quit", std::chrono::seconds(5), from));
  from = second_screen.size();
  write_all(second_pty, "\x1b[A");
  CHECK(read_until(second_pty, second_screen, "remember this line", std::chrono::seconds(5), from));
  write_all(second_pty, "\r");
  CHECK(run_step(io, collect_texts(*bob, "again", 1, patience)) == std::vector<std::string>{"remember this line"});
  INFO(second_screen);
  write_all(second_pty, "/quit\r");
  CHECK(second.wait_exit(std::chrono::seconds(10)) == std::optional<int>(0));
}

TEST_CASE("a mistake in client.toml stops the client with its line", "[chat-client][config]") {
  char path[] = "/tmp/chat-client-config-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  write_all(fd, "nick = \"ok\"\nbel = false\n");
  ::close(fd);
  ChildProcess client;
  start_piped(client, {"--config", path});
  const auto status = client.wait_exit(std::chrono::seconds(10));
  ::unlink(path);
  INFO(client.output());
  CHECK(status == std::optional<int>(2));
  CHECK(client.output().find(std::string(path) + ": line 2: unknown key bel") != std::string::npos);
}
