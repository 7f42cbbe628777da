// chatd's command line: values that would make the server useless are
// refused at start-up with a message naming the option, and exit status 2.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <unistd.h>

#include "chatd_process.hpp"

namespace {

using corochat::test::ProgramRun;

// Runs chatd with `args` on a free loopback port until it exits or says it
// listens (then it is stopped), at most 5 s.
ProgramRun run_chatd(std::vector<std::string> args) {
  args.insert(args.begin(), {CHATD_PATH, "--host", "127.0.0.1", "--port", "0", "--store", "memory"});
  return corochat::test::run_program(std::move(args), std::chrono::seconds(5), "listening on");
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
      {{"--history", "1000001"}, "--history must be at most 1000000"},
      {{"--history", "18446744073709551615"}, "bad value for --history"},
      {{"--history", "18446744073709551616"}, "bad value for --history"},
      {{"--reply-rate", "-1"}, "bad value for --reply-rate"},
      // Past what a signed 64-bit limit in welcome holds, or what the queue
      // check can multiply without overflow.
      {{"--max-text", "18446744073709551615"}, "bad value for --max-text"},
      {{"--max-text", "3074457345618258603"}, "bad value for --max-text"},
      {{"--flood-rate", "9223372036854775808"}, "bad value for --flood-rate"},
      {{"--max-rooms-per-client", "18446744073709551615"}, "bad value for --max-rooms-per-client"},
      {{"--max-clients", "0"}, "--max-clients must be at least 1"},
      {{"--reply-burst", "0"}, "--reply-burst must be at least 1 byte"},
  };
  for (const auto& c : cases) {
    const ProgramRun run = run_chatd(c.args);
    INFO("chatd " << c.args.front() << " ...: " << run.output);
    CHECK(run.exit_status == 2);
    CHECK(run.output.find(c.says) != std::string::npos);
  }
}

TEST_CASE("chatd accepts the smallest limits it allows and starts") {
  // 6 x 10 + 1024 bytes: the longest line with --max-text 10.
  const ProgramRun run = run_chatd({"--max-line", "64", "--max-text", "10", "--queue-bytes", "1084", "--history", "1000000"});
  INFO(run.output);
  CHECK(run.exit_status == -1);  // still serving when stopped
  CHECK(run.output.find("listening on") != std::string::npos);
}

TEST_CASE("chatd says in plain words why it cannot listen and exits 1") {
  corochat::test::ChatdProcess first({"--store", "memory"});
  const ProgramRun run = corochat::test::run_program(
      {CHATD_PATH, "--host", "127.0.0.1", "--port", first.port(), "--store", "memory"}, std::chrono::seconds(5),
      "listening on");
  INFO(run.output);
  CHECK(run.exit_status == 1);
  CHECK(run.output.find("chatd: cannot listen on 127.0.0.1:" + first.port() + ": address already in use\n") !=
        std::string::npos);
  CHECK(run.output.find(".hpp") == std::string::npos);  // no source locations
}

TEST_CASE("chatd exits 2 on a config file it cannot use and names the line") {
  char name[] = "/tmp/chatd-options-XXXXXX.toml";
  const int fd = ::mkstemps(name, 5);
  REQUIRE(fd >= 0);
  const std::string text = "port = 0\nmotd = \"hi\"\nflood = 3\n";
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  const ProgramRun run = run_chatd({"--config", name});
  ::unlink(name);
  INFO(run.output);
  CHECK(run.exit_status == 2);
  CHECK(run.output.find(std::string("chatd: ") + name + ":3: unknown setting 'flood'") != std::string::npos);
}
