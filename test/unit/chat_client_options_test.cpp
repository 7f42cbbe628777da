// chat-client's command line: what each invocation gives, and its errors.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "client_command.hpp"

using namespace corochat::chat_client;

namespace {

ClientCommand parse(std::vector<std::string> args) {
  args.insert(args.begin(), "chat-client");
  return parse_client_command(args);
}

}  // namespace

TEST_CASE("chat-client options: what the documented invocations give", "[chat-client][options]") {
  const ClientCommand c = parse({"[::1]:7000", "--nick", "alice", "--room=dev", "--highlight", "deploy",
                                 "--highlight", "oncall", "--no-bell", "--ca", "ca.pem", "--no-config"});
  REQUIRE_FALSE(c.parsed.exit);
  CHECK(c.server == "[::1]:7000");
  CHECK(c.nick == "alice");
  CHECK(c.room == "dev");
  CHECK(c.highlights == std::vector<std::string>{"deploy", "oncall"});
  CHECK(c.no_bell);
  CHECK(c.ca == "ca.pem");
  CHECK(c.no_config);
  CHECK_FALSE(c.port);  // not given: the file or the default decides

  const ClientCommand given = parse({"--host", "example.org", "--port", "7443", "--tls", "--config", "c.toml"});
  REQUIRE_FALSE(given.parsed.exit);
  CHECK(given.host == "example.org");
  CHECK(given.port == "7443");
  CHECK(given.tls);
  CHECK(given.config == "c.toml");

  CHECK(parse({"--help"}).parsed.out.find("--password-file FILE") != std::string::npos);
  CHECK(parse({"-h"}).parsed.status == 0);
  CHECK(parse({"--version"}).parsed.out.starts_with("chat-client "));
}

TEST_CASE("chat-client options: usage errors say what is wrong and exit 2", "[chat-client][options]") {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--port", "0"}, "bad value for --port: '0' (a number from 1 to 65535)"},
      {{"--port", "65536"}, "bad value for --port"},
      {{"--port", "http"}, "bad value for --port"},
      {{"--nick", "-x"}, "bad value for --nick: '-x'"},
      {{"--room", ""}, "bad value for --room"},
      {{"--highlight", ""}, "--highlight needs a word"},
      {{"--nick"}, "--nick"},
      {{"--colour"}, "unknown option --colour"},
      {{"a:1", "b:2"}, "unexpected argument 'b:2'"},
      {{"--config", "c.toml", "--no-config"}, "--no-config"},
  };
  for (const auto& c : cases) {
    const ClientCommand parsed = parse(c.args);
    INFO(parsed.parsed.error);
    CHECK(parsed.parsed.exit);
    CHECK(parsed.parsed.status == 2);
    CHECK(parsed.parsed.error.find(c.says) != std::string::npos);
    CHECK(parsed.parsed.hint == "(chat-client --help lists the options)");
  }
}
