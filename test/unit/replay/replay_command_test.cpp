// chat-replay's command line: runs, `record`, help and the usage errors.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "replay_command.hpp"

using namespace corochat::replay;

namespace {

ReplayCommand parse(std::vector<std::string> args) {
  args.insert(args.begin(), "chat-replay");
  return parse_replay_command(args);
}

}  // namespace

TEST_CASE("chat-replay options: runs and recordings as the scripts and tests invoke them", "[replay][options]") {
  const ReplayCommand run = parse({"--host", "127.0.0.1", "--port=7001", "--ca", "ca.pem", "--verbose", "a.scn", "b.scn"});
  REQUIRE_FALSE(run.parsed.exit);
  CHECK_FALSE(run.record);
  CHECK(run.run.port == "7001");
  CHECK(run.run.tls.enabled);  // --ca implies it
  CHECK(run.verbose);
  CHECK(run.files == std::vector<std::string>{"a.scn", "b.scn"});

  const ReplayCommand record = parse({"record", "--listen", "0", "--upstream", "[::1]:7000", "--out", "s.scn"});
  REQUIRE_FALSE(record.parsed.exit);
  CHECK(record.record);
  CHECK(record.recording.listen_host == "127.0.0.1");
  CHECK(record.recording.listen_port == "0");
  CHECK(record.recording.upstream_host == "::1");
  CHECK(record.recording.upstream_port == "7000");
  CHECK(record.recording.out_path == "s.scn");
}

TEST_CASE("chat-replay options: help for the tool and for record", "[replay][options]") {
  const ReplayCommand help = parse({"--help"});
  CHECK(help.parsed.exit);
  CHECK(help.parsed.status == 0);
  CHECK(help.parsed.out.find("record") != std::string::npos);
  const ReplayCommand record_help = parse({"record", "--help"});
  CHECK(record_help.parsed.status == 0);
  CHECK(record_help.parsed.out.find("--upstream HOST:PORT") != std::string::npos);
  CHECK(record_help.parsed.out.find("--junit") == std::string::npos);
  CHECK(parse({"--version"}).parsed.out.starts_with("chat-replay "));
}

TEST_CASE("chat-replay options: usage errors say what is wrong and exit 2", "[replay][options]") {
  struct Case {
    std::vector<std::string> args;
    std::string says;
    std::string hint;
  };
  const std::string top = "(chat-replay --help lists the options)";
  const std::string rec = "(chat-replay record --help lists the options)";
  const std::vector<Case> cases = {
      {{}, "no scenario file given", top},
      {{"--bogus", "a.scn"}, "unknown option --bogus", top},
      {{"--port", "0", "a.scn"}, "--port", top},
      {{"--port", "65536", "a.scn"}, "--port", top},
      {{"--port"}, "--port", top},
      {{"record", "--listen", "0", "--out", "s.scn"}, "--upstream is required", rec},
      {{"record", "--listen", "x:y", "--upstream", "h:1", "--out", "s.scn"}, "bad value for --listen: 'x:y'", rec},
      {{"record", "--listen", "0", "--upstream", "7000", "--out", "s.scn"}, "bad value for --upstream", rec},
      {{"record", "--listen", "0", "--upstream", "h:1", "--out", "s.scn", "--junit", "j"}, "unknown option --junit",
       rec},
  };
  for (const auto& c : cases) {
    const ReplayCommand parsed = parse(c.args);
    INFO(parsed.parsed.error);
    CHECK(parsed.parsed.exit);
    CHECK(parsed.parsed.status == 2);
    CHECK(parsed.parsed.error.find(c.says) != std::string::npos);
    CHECK(parsed.parsed.hint == c.hint);
  }
}
