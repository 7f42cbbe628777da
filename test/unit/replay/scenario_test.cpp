// chat-replay's scenario parser: durations, every step kind, and its errors.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "replay_harness.hpp"

using namespace corochat::replay_test;

// ---------------------------------------------------------------- durations

TEST_CASE("parse_duration reads ms, s, m and a bare 0", "[replay][scenario]") {
  CHECK(parse_duration("250ms") == Millis(250));
  CHECK(parse_duration("2s") == Millis(2000));
  CHECK(parse_duration("1m") == Millis(60'000));
  CHECK(parse_duration("0") == Millis(0));
  CHECK(parse_duration("0s") == Millis(0));
}

TEST_CASE("parse_duration refuses what is not a duration", "[replay][scenario]") {
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("ms"));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("-5"));
  CHECK_FALSE(parse_duration("15"));  // seconds or milliseconds? a unit says
  CHECK_FALSE(parse_duration("5h"));
  CHECK_FALSE(parse_duration("1.5s"));
  CHECK_FALSE(parse_duration("5 s"));
  CHECK_FALSE(parse_duration("5sec"));
  CHECK_FALSE(parse_duration("soon"));
}

// ------------------------------------------------------------- step kinds

TEST_CASE("connect, close and abort name a client and nothing else", "[replay][scenario]") {
  Scenario s = parse_ok("alice connect\nbob_2 close\nc-3 abort\n");
  REQUIRE(s.steps.size() == 3);
  CHECK(s.steps[0].kind == Kind::connect);
  CHECK(s.steps[0].client == "alice");
  CHECK(s.steps[0].line == 1);
  CHECK(s.steps[0].source == "alice connect");
  CHECK(s.steps[1].kind == Kind::close);
  CHECK(s.steps[1].client == "bob_2");
  CHECK(s.steps[1].line == 2);
  CHECK(s.steps[2].kind == Kind::abort);
  CHECK(s.steps[2].client == "c-3");
  CHECK(s.steps[2].line == 3);
  CHECK(s.file == "t.scn");
  CHECK(s.timeout == Millis(5000));  // the default
}

TEST_CASE("send keeps the JSON line as written, variables included", "[replay][scenario]") {
  Step st = only_step(R"(a send {"type":"say", "room":"r${n}", "text":"x  y","id":${n}})");
  CHECK(st.kind == Kind::send);
  CHECK(st.client == "a");
  CHECK(st.payload == R"({"type":"say", "room":"r${n}", "text":"x  y","id":${n}})");

  // Surrounding white space is not part of the payload.
  Step spaced = only_step("  a   send    {\"type\":\"ping\"}   \n");
  CHECK(spaced.payload == R"({"type":"ping"})");
  CHECK(spaced.source == R"(a   send    {"type":"ping"})");
}

TEST_CASE("send-raw turns its quoted string into bytes", "[replay][scenario]") {
  SECTION("plain text and the named escapes") {
    Step st = only_step(R"(a send-raw "x\ny\r\tz\\ \"q\"")");
    CHECK(st.kind == Kind::send_raw);
    CHECK(st.payload == "x\ny\r\tz\\ \"q\"");
  }
  SECTION("\\x escapes give any byte, NUL and 0xff included") {
    Step st = only_step(R"(a send-raw "\x00\xff\x41\x7f\xC3\xa9\0")");
    const std::string want("\x00\xff\x41\x7f\xc3\xa9\x00", 7);
    CHECK(st.payload == want);
    CHECK(st.payload.size() == 7);
  }
  SECTION("no newline is added and empty strings are allowed") {
    CHECK(only_step(R"(a send-raw "{\"type\":\"pi")").payload == "{\"type\":\"pi");
    CHECK(only_step(R"(a send-raw "")").payload.empty());
  }
}

TEST_CASE("send-raw refuses malformed strings", "[replay][scenario]") {
  const char* bad[] = {
      R"(a send-raw abc)",         // no quotes
      R"(a send-raw "abc)",        // no closing quote
      R"(a send-raw "a"b")",       // a bare quote inside
      R"(a send-raw "\q")",        // unknown escape
      R"(a send-raw "\x4")",       // one hex digit
      R"(a send-raw "\xzz")",      // not hex
      R"(a send-raw "abc\")",      // a backslash at the end
      R"(a send-raw)",             // nothing
  };
  for (const char* line : bad) {
    INFO(line);
    ScenarioError e = parse_error(line);
    CHECK(e.line == 1);
    CHECK_THAT(e.message, Catch::Contains("send-raw needs a quoted string"));
  }
}

TEST_CASE("expect takes a JSON object and its options in any order", "[replay][scenario]") {
  SECTION("no options") {
    Step st = only_step(R"(a expect {"type":"pong","id":{"n":[1,{"x":"}"}]}})");
    CHECK(st.kind == Kind::expect);
    CHECK(st.payload == R"({"type":"pong","id":{"n":[1,{"x":"}"}]}})");
    CHECK_FALSE(st.within);
    CHECK(st.skip.empty());
    CHECK_FALSE(st.skip_all);
    CHECK(st.captures.empty());
  }
  SECTION("within") {
    Step st = only_step(R"(a expect {"type":"pong"} within 250ms)");
    REQUIRE(st.within);
    CHECK(*st.within == Millis(250));
  }
  SECTION("skip a list of types") {
    Step st = only_step(R"(a expect {"type":"pong"} skip joined,left,message)");
    CHECK(st.skip == std::vector<std::string>{"joined", "left", "message"});
    CHECK_FALSE(st.skip_all);
  }
  SECTION("skip *") {
    Step st = only_step(R"(a expect {"type":"pong"} skip *)");
    CHECK(st.skip_all);
    CHECK(st.skip.empty());
  }
  SECTION("absent keys") {
    Step st = only_step(R"(a expect {"type":"message"} absent id,motd)");
    CHECK(st.absent == std::vector<std::string>{"id", "motd"});
  }
  SECTION("captures, several after one keyword and several keywords") {
    Step st = only_step(R"(a expect {"type":"message"} capture s=seq t=ts capture m=messages.0.text)");
    using P = std::pair<std::string, std::string>;
    CHECK(st.captures == std::vector<P>{{"s", "seq"}, {"t", "ts"}, {"m", "messages.0.text"}});
  }
  SECTION("all of them, in another order") {
    Step st = only_step(R"(a expect {"type":"welcome","rooms":["${r}"]} capture tok=token skip ping within 2s)");
    CHECK(st.payload == R"({"type":"welcome","rooms":["${r}"]})");
    REQUIRE(st.captures.size() == 1);
    CHECK(st.captures[0].first == "tok");
    CHECK(st.captures[0].second == "token");
    CHECK(st.skip == std::vector<std::string>{"ping"});
    REQUIRE(st.within);
    CHECK(*st.within == Millis(2000));
  }
  SECTION("a variable as a bare value") {
    Step st = only_step(R"(a expect {"type":"message","seq":${s}})");
    CHECK(st.payload == R"({"type":"message","seq":${s}})");
  }
}

TEST_CASE("silence, expect-close, wait and pause", "[replay][scenario]") {
  Scenario s = parse_ok(
      "a silence 100ms\n"
      "a expect-close\n"
      "b expect-close within 3s skip ping,pong\n"
      "c expect-close skip *\n"
      "wait 50ms\n"
      "pause 1m\n");
  REQUIRE(s.steps.size() == 6);
  CHECK(s.steps[0].kind == Kind::silence);
  CHECK(s.steps[0].duration == Millis(100));
  CHECK(s.steps[1].kind == Kind::expect_close);
  CHECK_FALSE(s.steps[1].within);
  CHECK(s.steps[2].kind == Kind::expect_close);
  REQUIRE(s.steps[2].within);
  CHECK(*s.steps[2].within == Millis(3000));
  CHECK(s.steps[2].skip == std::vector<std::string>{"ping", "pong"});
  CHECK(s.steps[3].skip_all);
  CHECK(s.steps[4].kind == Kind::wait);
  CHECK(s.steps[4].duration == Millis(50));
  CHECK(s.steps[4].client.empty());
  CHECK(s.steps[5].kind == Kind::pause);
  CHECK(s.steps[5].duration == Millis(60'000));
}

TEST_CASE("repeat blocks nest, with their variable names", "[replay][scenario]") {
  Scenario s = parse_ok(
      "repeat 3\n"
      "  a send {\"type\":\"ping\",\"id\":${i}}\n"
      "  repeat 2 inner_v-2\n"
      "    a expect {\"type\":\"pong\"}\n"
      "  end\n"
      "end\n"
      "repeat 0 z\n"
      "end\n"
      "a close\n");
  REQUIRE(s.steps.size() == 3);
  const Step& outer = s.steps[0];
  CHECK(outer.kind == Kind::repeat);
  CHECK(outer.count == 3);
  CHECK(outer.variable == "i");  // the default
  CHECK(outer.line == 1);
  REQUIRE(outer.body.size() == 2);
  CHECK(outer.body[0].kind == Kind::send);
  CHECK(outer.body[0].line == 2);
  const Step& inner = outer.body[1];
  CHECK(inner.kind == Kind::repeat);
  CHECK(inner.count == 2);
  CHECK(inner.variable == "inner_v-2");
  REQUIRE(inner.body.size() == 1);
  CHECK(inner.body[0].kind == Kind::expect);
  CHECK(inner.body[0].line == 4);
  CHECK(s.steps[1].kind == Kind::repeat);
  CHECK(s.steps[1].count == 0);
  CHECK(s.steps[1].variable == "z");
  CHECK(s.steps[1].body.empty());
  CHECK(s.steps[2].kind == Kind::close);
  CHECK(s.steps[2].line == 9);
}

TEST_CASE("timeout sets the default for expect and expect-close", "[replay][scenario]") {
  Scenario s = parse_ok("timeout 2s\na expect {\"type\":\"pong\"}\n");
  CHECK(s.timeout == Millis(2000));
  REQUIRE(s.steps.size() == 1);  // a directive, not a step
  CHECK_FALSE(s.steps[0].within);
  CHECK(parse_ok("timeout 1s\ntimeout 300ms\n").timeout == Millis(300));
}

TEST_CASE("comments, blank lines, indentation and CRLF", "[replay][scenario]") {
  Scenario s = parse_ok(
      "# a comment\r\n"
      "\r\n"
      "   \t\n"
      "   # an indented comment\n"
      "a connect\r\n"
      "\ta send {\"type\":\"ping\"}\r\n"
      "a send-raw \"x\\r\\n\"\r\n"
      "a close");  // no final newline
  REQUIRE(s.steps.size() == 4);
  CHECK(s.steps[0].line == 5);
  CHECK(s.steps[0].source == "a connect");
  CHECK(s.steps[1].line == 6);
  CHECK(s.steps[1].payload == R"({"type":"ping"})");
  CHECK(s.steps[2].payload == "x\r\n");
  CHECK(s.steps[3].line == 8);
  CHECK(s.steps[3].kind == Kind::close);

  CHECK(parse_ok("").steps.empty());
  CHECK(parse_ok("# only\n\n# comments\n").steps.empty());
}

// ------------------------------------------------------------------ errors

TEST_CASE("parse errors name the file, the line and the problem", "[replay][scenario]") {
  struct Case {
    std::string text;
    int line;
    std::string message;  // a part of it
  };
  const std::vector<Case> cases = {
      {"a connect\n# c\na shout {}\n", 3, "unknown step 'shout'"},
      {"a connect\n!! connect\n", 2, "unknown step '!!'"},
      {"a frobnicate\n", 1, "unknown step 'frobnicate'"},
      {"a\n", 1, "unknown step ''"},
      {"a connect now\n", 1, "connect takes nothing after it"},
      {"a close 1\n", 1, "close takes nothing after it"},
      {"a abort x\n", 1, "abort takes nothing after it"},
      {"a send\n", 1, "send needs one JSON object"},
      {"a send {\"type\":\"ping\",}\n", 1, "send needs one JSON object"},
      {"a send [1,2]\n", 1, "send needs one JSON object"},
      {"a send \"ping\"\n", 1, "send needs one JSON object"},
      {"a send {\"id\":${x}\n", 1, "send needs one JSON object"},
      {"a send {\"id\":1} trailing\n", 1, "send needs one JSON object"},
      {"\n\na expect\n", 3, "expect needs a JSON object"},
      {"a expect {\"type\":\n", 1, "expect needs a JSON object"},
      {"a expect {\"type\" \"x\"}\n", 1, "expect needs a JSON object"},
      {"a expect [1]\n", 1, "expect needs a JSON object"},
      {"a expect {} loudly\n", 1, "unexpected 'loudly' (within, skip, absent, capture)"},
      {"a expect {} within\n", 1, "within needs a duration"},
      {"a expect {} within soon\n", 1, "within needs a duration"},
      {"a expect-close within 2h\n", 1, "within needs a duration"},
      {"a expect {} skip\n", 1, "skip needs event types"},
      {"a expect {} capture\n", 1, "capture takes VARIABLE=PATH"},
      {"a expect {} capture x=\n", 1, "capture takes VARIABLE=PATH"},
      {"a expect {} capture =seq\n", 1, "capture takes VARIABLE=PATH"},
      {"a expect {} capture a.b=seq\n", 1, "capture takes VARIABLE=PATH"},
      {"a expect-close capture x=seq\n", 1, "only expect can capture"},
      {"a silence\n", 1, "expected: NAME silence DURATION"},
      {"a silence 5x\n", 1, "expected: NAME silence DURATION"},
      {"wait\n", 1, "expected: wait DURATION"},
      {"wait 1s 2s\n", 1, "expected: wait DURATION"},
      {"wait 50\n", 1, "expected: wait DURATION (needs a unit: 50s or 50ms)"},
      {"pause -1\n", 1, "expected: pause DURATION"},
      {"timeout\n", 1, "expected: timeout DURATION"},
      {"timeout forever\n", 1, "expected: timeout DURATION"},
      {"repeat\nend\n", 1, "expected: repeat COUNT [VARIABLE]"},
      {"repeat x\nend\n", 1, "expected: repeat COUNT [VARIABLE]"},
      {"repeat -1\nend\n", 1, "expected: repeat COUNT [VARIABLE]"},
      {"repeat 2x\nend\n", 1, "expected: repeat COUNT [VARIABLE]"},
      {"repeat 2 a.b\nend\n", 1, "expected: repeat COUNT [VARIABLE]"},
      {"repeat 2 n extra\nend\n", 1, "expected: repeat COUNT [VARIABLE]"},
      {"a connect\nend\n", 2, "'end' without 'repeat'"},
      {"repeat 2\nend\nend\n", 3, "'end' without 'repeat'"},
      {"a connect\nrepeat 2\na close\n", 2, "'repeat' without 'end'"},
      // The innermost unclosed repeat is the one reported.
      {"repeat 2\n\nrepeat 3 j\na close\n", 3, "'repeat' without 'end'"},
      {"repeat 2\nrepeat 3 j\nend\n", 1, "'repeat' without 'end'"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    ScenarioError e = parse_error(c.text);
    CHECK(e.file == "t.scn");
    CHECK(e.line == c.line);
    CHECK_THAT(e.message, Catch::Contains(c.message));
  }
}

TEST_CASE("a parse error describes itself as file:line: message", "[replay][scenario]") {
  auto result = parse_scenario("a connect\n\na shout\n", "dir/x.scn");
  REQUIRE(std::holds_alternative<ScenarioError>(result));
  const auto& e = std::get<ScenarioError>(result);
  CHECK(e.describe() ==
        "dir/x.scn:3: unknown step 'shout' (connect, send, send-raw, expect, silence, expect-close, close, abort)");
}

TEST_CASE("the first error stops the parse, even inside a repeat", "[replay][scenario]") {
  ScenarioError e = parse_error("repeat 2\n  a send nope\n  a shout\nend\n");
  CHECK(e.line == 2);
  CHECK_THAT(e.message, Catch::Contains("send needs one JSON object"));
}
