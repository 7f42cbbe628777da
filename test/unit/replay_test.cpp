// chat-replay's pure parts: the scenario parser, the matcher, the recording
// text and the JUnit report.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "matcher.hpp"
#include "recording.hpp"
#include "report.hpp"
#include "scenario.hpp"

namespace json = boost::json;
using namespace corochat::replay;
using Kind = Step::Kind;
using namespace std::chrono_literals;

namespace {

Scenario parse_ok(std::string_view text) {
  auto result = parse_scenario(text, "t.scn");
  if (const auto* error = std::get_if<ScenarioError>(&result)) FAIL("unexpected parse error: " << error->describe());
  return std::get<Scenario>(std::move(result));
}

ScenarioError parse_error(std::string_view text) {
  auto result = parse_scenario(text, "t.scn");
  if (std::holds_alternative<Scenario>(result)) FAIL("parsed, but an error was expected:\n" << text);
  return std::get<ScenarioError>(std::move(result));
}

Step only_step(std::string_view text) {
  Scenario s = parse_ok(text);
  REQUIRE(s.steps.size() == 1);
  return s.steps.front();
}

json::value j(std::string_view text) { return json::parse(text); }

bool match(std::string_view expected, std::string_view actual) { return matches(j(expected), j(actual)); }

// The one step that a line written by the recorder parses to.
Step reparse(const std::string& recorded) {
  INFO("recorded: " << recorded);
  return only_step(recorded);
}

}  // namespace

// ---------------------------------------------------------------- durations

TEST_CASE("parse_duration reads ms, s, m and bare milliseconds", "[replay][scenario]") {
  CHECK(parse_duration("250ms") == Millis(250));
  CHECK(parse_duration("2s") == Millis(2000));
  CHECK(parse_duration("1m") == Millis(60'000));
  CHECK(parse_duration("15") == Millis(15));
  CHECK(parse_duration("0") == Millis(0));
  CHECK(parse_duration("0s") == Millis(0));
}

TEST_CASE("parse_duration refuses what is not a duration", "[replay][scenario]") {
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("ms"));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("-5"));
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
      "wait 50\n"
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

// ----------------------------------------------------------------- matches

TEST_CASE("matches: objects match partially, recursively", "[replay][matcher]") {
  CHECK(match(R"({"type":"pong"})", R"({"type":"pong","id":1})"));
  CHECK(match(R"({})", R"({"type":"pong"})"));
  CHECK_FALSE(match(R"({"type":"pong","id":1})", R"({"type":"pong"})"));
  CHECK_FALSE(match(R"({"type":"pong"})", R"({"type":"ping"})"));
  CHECK(match(R"({"limits":{"history":3}})", R"({"type":"welcome","limits":{"history":3,"max_text":10}})"));
  CHECK_FALSE(match(R"({"limits":{"history":3}})", R"({"limits":{"history":4,"max_text":10}})"));
  CHECK_FALSE(match(R"({"limits":{"history":3}})", R"({"limits":3})"));
  CHECK(match(R"({"a":{"b":{"c":null}}})", R"({"a":{"b":{"c":null,"d":1}}})"));
  CHECK_FALSE(match(R"({"a":{"b":{"c":null}}})", R"({"a":{"b":{"d":null}}})"));
}

TEST_CASE("matches: arrays have the same length, elements match partially", "[replay][matcher]") {
  CHECK(match(R"([])", R"([])"));
  CHECK_FALSE(match(R"([])", R"([1])"));
  CHECK_FALSE(match(R"([1])", R"([])"));
  CHECK(match(R"(["a","b"])", R"(["a","b"])"));
  CHECK_FALSE(match(R"(["a","b"])", R"(["b","a"])"));
  CHECK_FALSE(match(R"(["a"])", R"(["a","b"])"));
  CHECK_FALSE(match(R"(["a","b","c"])", R"(["a","b"])"));
  CHECK(match(R"({"messages":[{"seq":1},{"seq":2}]})",
              R"({"messages":[{"seq":1,"text":"x","ts":5},{"seq":2,"text":"y"}],"room":"r"})"));
  CHECK_FALSE(match(R"({"messages":[{"seq":1}]})", R"({"messages":[{"seq":1},{"seq":2}]})"));
  CHECK_FALSE(match(R"({"rooms":[]})", R"({"rooms":[{"room":"lobby","members":1}]})"));
  CHECK(match(R"([[1,[2]]])", R"([[1,[2]]])"));
  CHECK_FALSE(match(R"([[1,[2]]])", R"([[1,[2,3]]])"));
}

TEST_CASE("matches: numbers compare by value across int, uint and double", "[replay][matcher]") {
  const json::value i1(std::int64_t{1});
  const json::value u1(std::uint64_t{1});
  const json::value d1(1.0);
  CHECK(i1.is_int64());
  CHECK(u1.is_uint64());
  CHECK(d1.is_double());
  CHECK(matches(i1, u1));
  CHECK(matches(u1, i1));
  CHECK(matches(i1, d1));
  CHECK(matches(d1, i1));
  CHECK(matches(u1, d1));
  CHECK(matches(d1, u1));
  CHECK(matches(json::value(std::int64_t{-3}), json::value(-3.0)));
  CHECK_FALSE(matches(i1, json::value(std::int64_t{2})));
  CHECK_FALSE(matches(i1, json::value(1.5)));
  CHECK_FALSE(matches(u1, json::value(std::uint64_t{2})));
  // A negative signed value never equals an unsigned one, even bit for bit.
  CHECK_FALSE(matches(json::value(std::int64_t{-1}), json::value(std::numeric_limits<std::uint64_t>::max())));
  CHECK_FALSE(matches(json::value(std::numeric_limits<std::uint64_t>::max()), json::value(std::int64_t{-1})));
  // Large integers are compared exactly, not through a double.
  CHECK(match("9007199254740993", "9007199254740993"));
  CHECK_FALSE(match("9007199254740993", "9007199254740992"));
  CHECK(match("18446744073709551615", "18446744073709551615"));
  CHECK(match(R"({"seq":1})", R"({"seq":1.0})"));
}

TEST_CASE("matches: strings, booleans, null and type mismatches", "[replay][matcher]") {
  CHECK(match(R"("abc")", R"("abc")"));
  CHECK(match(R"("caf\u00e9")", "\"caf\xc3\xa9\""));
  CHECK_FALSE(match(R"("abc")", R"("abd")"));
  CHECK_FALSE(match(R"("abc")", R"("ABC")"));
  CHECK_FALSE(match(R"("")", R"(" ")"));
  CHECK(match("true", "true"));
  CHECK_FALSE(match("true", "false"));
  CHECK(match("null", "null"));
  // Different JSON types never match.
  CHECK_FALSE(match(R"("1")", "1"));
  CHECK_FALSE(match("1", R"("1")"));
  CHECK_FALSE(match("true", "1"));
  CHECK_FALSE(match("0", "false"));
  CHECK_FALSE(match("null", "false"));
  CHECK_FALSE(match("null", R"("")"));
  CHECK_FALSE(match("{}", "[]"));
  CHECK_FALSE(match("[]", "{}"));
  CHECK_FALSE(match("{}", "null"));
  CHECK_FALSE(match("[]", R"("")"));
  CHECK_FALSE(match(R"({"id":1})", R"({"id":"1"})"));
  CHECK_FALSE(match(R"({"id":null})", R"({})"));
}

// --------------------------------------------------------------- find_path

TEST_CASE("find_path follows object keys and array indexes", "[replay][matcher]") {
  const json::value v = j(R"({"seq":7,"limits":{"history":3},"messages":[{"seq":1},{"seq":2,"tags":["a","b"]}]})");
  REQUIRE(find_path(v, "seq"));
  CHECK(*find_path(v, "seq") == json::value(7));
  REQUIRE(find_path(v, "limits.history"));
  CHECK(*find_path(v, "limits.history") == json::value(3));
  REQUIRE(find_path(v, "messages.0.seq"));
  CHECK(*find_path(v, "messages.0.seq") == json::value(1));
  REQUIRE(find_path(v, "messages.1.tags.1"));
  CHECK(*find_path(v, "messages.1.tags.1") == json::value("b"));
  REQUIRE(find_path(v, "limits"));
  CHECK(find_path(v, "limits")->is_object());
  CHECK(find_path(v, "") == &v);  // the empty path is the root

  CHECK(find_path(v, "missing") == nullptr);
  CHECK(find_path(v, "limits.idle") == nullptr);
  CHECK(find_path(v, "messages.2") == nullptr);   // past the end
  CHECK(find_path(v, "messages.x") == nullptr);   // not an index
  CHECK(find_path(v, "messages.-1") == nullptr);
  CHECK(find_path(v, "messages.1x") == nullptr);
  CHECK(find_path(v, "seq.x") == nullptr);        // into a scalar
  CHECK(find_path(v, "messages.0.seq.0") == nullptr);
  CHECK(find_path(j("[10,20]"), "1") != nullptr);
  CHECK(*find_path(j("[10,20]"), "1") == json::value(20));
}

// ------------------------------------------------------------ capture_text

TEST_CASE("capture_text: a string's characters, the JSON of anything else", "[replay][matcher]") {
  CHECK(capture_text(json::value("tok3n")) == "tok3n");
  CHECK(capture_text(json::value("with \"quotes\"")) == "with \"quotes\"");
  CHECK(capture_text(json::value("")) == "");
  CHECK(capture_text(json::value(42)) == "42");
  CHECK(capture_text(json::value(-7)) == "-7");
  CHECK(capture_text(json::value(std::uint64_t{18446744073709551615ULL})) == "18446744073709551615");
  CHECK(capture_text(json::value(true)) == "true");
  CHECK(capture_text(json::value(nullptr)) == "null");
  CHECK(capture_text(j(R"(["a",1])")) == R"(["a",1])");
  CHECK(capture_text(j(R"({"room":"x"})")) == R"({"room":"x"})");
}

// -------------------------------------------------------------- substitute

TEST_CASE("substitute replaces known variables", "[replay][matcher]") {
  const Variables vars{{"seq", "3"}, {"tok", "abc"}, {"a", "A"}, {"b", "B"}, {"empty", ""}};
  CHECK(substitute(R"({"before":${seq},"resume":"${tok}"})", vars) == R"({"before":3,"resume":"abc"})");
  CHECK(substitute("${a}${b}", vars) == "AB");
  CHECK(substitute("x${a}y${a}z", vars) == "xAyAz");
  CHECK(substitute("[${empty}]", vars) == "[]");
  CHECK(substitute("no variables here", vars) == "no variables here");
  CHECK(substitute("", vars) == "");
  CHECK(substitute("cost $5 {a} $a", vars) == "cost $5 {a} $a");
  // An unterminated ${ is left as it is.
  CHECK(substitute("x ${a", vars) == "x ${a");
  // Values are not substituted again.
  const Variables nested{{"a", "${b}"}, {"b", "no"}};
  CHECK(substitute("${a}", nested) == "${b}");
}

TEST_CASE("substitute reports the first unknown variable", "[replay][matcher]") {
  const Variables vars{{"known", "1"}};
  std::string unknown;
  CHECK_FALSE(substitute(R"({"id":${known},"x":${nope},"y":${other}})", vars, &unknown));
  CHECK(unknown == "nope");
  CHECK_FALSE(substitute("${}", vars, &unknown));
  CHECK(unknown.empty());
  CHECK_FALSE(substitute("${KNOWN}", vars, &unknown));  // names are case-sensitive
  CHECK(unknown == "KNOWN");
  // Without a place for the name it still fails.
  CHECK_FALSE(substitute("${nope}", vars));
}

// --------------------------------------------------------------- Recording

TEST_CASE("Recording: connect and close lines", "[replay][recording]") {
  Recording r;
  CHECK(r.connected("c1") == "c1 connect\n");
  CHECK(r.client_closed("c1") == "c1 close\n");
  CHECK(r.server_closed("c2") == "c2 expect-close\n");
}

TEST_CASE("Recording: a JSON line sent is kept verbatim", "[replay][recording]") {
  Recording r;
  const std::string line = R"({"type":"say",  "room":"lobby","text":"caf\u00e9 ok","id":1})";
  CHECK(r.sent("c1", line) == "c1 send " + line + "\n");
  Step st = reparse(r.sent("c1", line));
  CHECK(st.kind == Kind::send);
  CHECK(st.payload == line);
}

TEST_CASE("Recording: anything else sent becomes send-raw", "[replay][recording]") {
  Recording r;
  SECTION("not JSON") {
    const std::string out = r.sent("c1", "hello \"you\"\t\\");
    CHECK(out == "c1 send-raw \"hello \\\"you\\\"\\t\\\\\\n\"\n");
    CHECK(reparse(out).payload == "hello \"you\"\t\\\n");
  }
  SECTION("JSON but not an object") {
    const std::string out = r.sent("c1", "[1,2]");
    CHECK(out == "c1 send-raw \"[1,2]\\n\"\n");
  }
  SECTION("invalid UTF-8 and control bytes") {
    const std::string bytes("{\"type\":\"ping\",\"id\":\"\xff\"}\x01", 25);
    const std::string out = r.sent("c1", bytes);
    CHECK_THAT(out, Catch::StartsWith("c1 send-raw \""));
    CHECK_THAT(out, Catch::Contains("\\xff"));
    CHECK_THAT(out, Catch::Contains("\\x01"));
    CHECK(reparse(out).payload == bytes + "\n");
  }
  SECTION("a line that would read as a variable") {
    const std::string line = R"({"type":"say","room":"lobby","text":"${not_a_variable}"})";
    const std::string out = r.sent("c1", line);
    CHECK_THAT(out, Catch::StartsWith("c1 send-raw "));
    CHECK(reparse(out).payload == line + "\n");
  }
}

TEST_CASE("Recording: what the server sends becomes an expect without volatile fields", "[replay][recording]") {
  Recording r;
  SECTION("ts is dropped, the rest kept") {
    const std::string out =
        r.received("c1", R"({"type":"message","room":"lobby","from":"a","text":"hi","ts":1764093600105,"seq":1,"id":7})");
    Step st = reparse(out);
    CHECK(st.kind == Kind::expect);
    CHECK(st.client == "c1");
    CHECK(st.captures.empty());
    CHECK(j(st.payload) == j(R"({"type":"message","room":"lobby","from":"a","text":"hi","seq":1,"id":7})"));
  }
  SECTION("recursively, inside history messages and nested objects") {
    const std::string out = r.received(
        "c1",
        R"({"type":"history","room":"r","messages":[{"type":"message","room":"r","from":"a","text":"x","ts":1,"seq":1},)"
        R"({"type":"message","room":"r","from":"b","text":"y","ts":2,"seq":2}],"extra":{"epoch":"e","server":"s","keep":{"ts":3,"k":1}}})");
    Step st = reparse(out);
    CHECK(j(st.payload) ==
          j(R"({"type":"history","room":"r","messages":[{"type":"message","room":"r","from":"a","text":"x","seq":1},)"
            R"({"type":"message","room":"r","from":"b","text":"y","seq":2}],"extra":{"keep":{"k":1}}})"));
  }
  SECTION("a non-JSON line becomes a comment") {
    const std::string out = r.received("c1", "oops\x01");
    CHECK(out == "# c1 received a line that is not a JSON object: \"oops\\x01\"\n");
    CHECK(parse_ok(out).steps.empty());
    CHECK_THAT(r.received("c2", "[1]"), Catch::StartsWith("# c2 received a line that is not a JSON object"));
  }
}

TEST_CASE("Recording: a welcome's token is captured and replaces itself in a later resume",
          "[replay][recording]") {
  Recording r;
  const std::string welcome =
      R"({"type":"welcome","nick":"alice","server":"chatd/0.1.0","protocol":1,"epoch":"k3f9","token":"c2VjcmV0",)"
      R"("rooms":["lobby"],"limits":{"max_line":16384,"history":100}})";
  const std::string out = r.received("c1", welcome);
  CHECK_THAT(out, Catch::EndsWith(" capture token_c1=token\n"));
  Step st = reparse(out);
  CHECK(st.kind == Kind::expect);
  REQUIRE(st.captures.size() == 1);
  CHECK(st.captures[0].first == "token_c1");
  CHECK(st.captures[0].second == "token");
  CHECK(j(st.payload) ==
        j(R"({"type":"welcome","nick":"alice","protocol":1,"rooms":["lobby"],"limits":{"max_line":16384,"history":100}})"));
  CHECK(out.find("c2VjcmV0") == std::string::npos);
  CHECK(out.find("k3f9") == std::string::npos);

  // A second client's token gets its own variable.
  CHECK_THAT(r.received("c2", R"({"type":"welcome","nick":"bob","token":"b0b"})"),
             Catch::EndsWith(" capture token_c2=token\n"));

  // Later, a hello that resumes with it sends the variable instead.
  const std::string resume = r.sent("c3", R"({"type":"hello","nick":"alice","resume":"c2VjcmV0"})");
  CHECK(resume == "c3 send {\"type\":\"hello\",\"nick\":\"alice\",\"resume\":\"${token_c1}\"}\n");
  CHECK(reparse(resume).payload == R"({"type":"hello","nick":"alice","resume":"${token_c1}"})");
  CHECK(r.sent("c4", R"({"type":"hello","nick":"bob","resume":"b0b"})") ==
        "c4 send {\"type\":\"hello\",\"nick\":\"bob\",\"resume\":\"${token_c2}\"}\n");
  // Lines without a known token are untouched.
  CHECK(r.sent("c5", R"({"type":"hello","nick":"x","resume":"other"})") ==
        "c5 send {\"type\":\"hello\",\"nick\":\"x\",\"resume\":\"other\"}\n");
}

TEST_CASE("Recording: a token only matters once seen", "[replay][recording]") {
  Recording r;
  CHECK(r.sent("c1", R"({"type":"hello","nick":"a","resume":"t1"})") ==
        "c1 send {\"type\":\"hello\",\"nick\":\"a\",\"resume\":\"t1\"}\n");
  // A token that is not a string is neither captured nor remembered.
  const std::string out = r.received("c1", R"({"type":"welcome","nick":"a","token":5})");
  CHECK(out.find("capture") == std::string::npos);
}

TEST_CASE("Recording: pauses of 20 ms or more since the previous event are kept", "[replay][recording]") {
  Recording r;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(r.pause_since_last(t0).empty());  // the first event has nothing before it
  CHECK(r.pause_since_last(t0 + 19ms).empty());
  // The gap is counted from the previous event, kept or not.
  CHECK(r.pause_since_last(t0 + 39ms) == "pause 20ms\n");
  CHECK(r.pause_since_last(t0 + 39ms).empty());
  CHECK(r.pause_since_last(t0 + 1539ms) == "pause 1500ms\n");
  CHECK(r.pause_since_last(t0 + 1540ms).empty());

  Step st = reparse(r.pause_since_last(t0 + 1640ms));
  CHECK(st.kind == Kind::pause);
  CHECK(st.duration == Millis(100));
}

// ------------------------------------------------------------- quote_bytes

TEST_CASE("quote_bytes escapes what needs it", "[replay][recording]") {
  CHECK(quote_bytes("") == "\"\"");
  CHECK(quote_bytes("plain text {}") == "\"plain text {}\"");
  CHECK(quote_bytes("a\nb\rc\td") == R"("a\nb\rc\td")");
  CHECK(quote_bytes("\\ \"") == R"("\\ \"")");
  CHECK(quote_bytes(std::string("\x00\x1f\x7f\x80\xff", 5)) == R"("\x00\x1f\x7f\x80\xff")");
}

TEST_CASE("quote_bytes round-trips every byte through the parser", "[replay][recording]") {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::vector<std::string> samples = {
      all, "", "\n", "\r\n", "\"", "\\", "\\x41", "${var}", "# not a comment", "  spaces  ", "\xc3\xa9\xff\xfe",
      std::string(3, '\0')};
  for (const auto& bytes : samples) {
    INFO("bytes of size " << bytes.size() << ": " << quote_bytes(bytes));
    Step st = only_step("c1 send-raw " + quote_bytes(bytes));
    CHECK(st.kind == Kind::send_raw);
    CHECK(st.payload == bytes);
  }
  // And through the recorder: a non-JSON line sent comes back as those bytes plus its newline.
  Recording r;
  Step st = reparse(r.sent("c1", all));
  CHECK(st.kind == Kind::send_raw);
  CHECK(st.payload == all + "\n");
}

// ---------------------------------------------------------------- junit_xml

TEST_CASE("junit_xml counts tests and failures", "[replay][report]") {
  const std::vector<CaseResult> results = {
      {"a.scn", true, "", 0.25},
      {"b.scn", false, "FAIL b.scn:3: x\n  expected: y\n", 0.5},
      {"c.scn", true, "", 0.25},
  };
  const std::string xml = junit_xml(results);
  CHECK_THAT(xml, Catch::StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
  CHECK_THAT(xml, Catch::Contains("<testsuites tests=\"3\" failures=\"1\" time=\"1\">"));
  CHECK_THAT(xml, Catch::Contains("<testsuite name=\"chat-replay\" tests=\"3\" failures=\"1\" time=\"1\">"));
  CHECK_THAT(xml, Catch::Contains("<testcase classname=\"chat-replay\" name=\"a.scn\" time=\"0.25\"/>"));
  CHECK_THAT(xml, Catch::Contains("<testcase classname=\"chat-replay\" name=\"b.scn\" time=\"0.5\">"));
  CHECK_THAT(xml, Catch::Contains("<failure message=\"FAIL b.scn:3: x\">FAIL b.scn:3: x\n  expected: y\n</failure>"));
  CHECK_THAT(xml, Catch::EndsWith("  </testsuite>\n</testsuites>\n"));
  // One failure element, and every testcase closed.
  std::size_t failures = 0;
  for (std::size_t at = 0; (at = xml.find("<failure", at)) != std::string::npos; ++at) ++failures;
  CHECK(failures == 1);

  const std::string empty = junit_xml({});
  CHECK_THAT(empty, Catch::Contains("<testsuites tests=\"0\" failures=\"0\" time=\"0\">"));
  CHECK(empty.find("<testcase") == std::string::npos);
}

TEST_CASE("junit_xml escapes markup and uses the report's first line as the message", "[replay][report]") {
  const std::vector<CaseResult> results = {
      {"a<b>&\"c\".scn", false,
       "FAIL x.scn:2: a expect {\"text\":\"<b> & co\"}\n  got:      {\"text\":\"a\x01z\"}\n", 0},
  };
  const std::string xml = junit_xml(results);
  CHECK_THAT(xml, Catch::Contains("name=\"a&lt;b&gt;&amp;&quot;c&quot;.scn\""));
  CHECK_THAT(xml, Catch::Contains(
                      "<failure message=\"FAIL x.scn:2: a expect {&quot;text&quot;:&quot;&lt;b&gt; &amp; co&quot;}\">"));
  // The body is the whole report; a control character XML cannot hold becomes '?'.
  CHECK_THAT(xml, Catch::Contains("  got:      {&quot;text&quot;:&quot;a?z&quot;}\n</failure>"));
  CHECK(xml.find('\x01') == std::string::npos);
  CHECK(xml.find("<b>") == std::string::npos);
  CHECK(xml.find(" & ") == std::string::npos);

  // A report of one line without a newline is the message as a whole.
  const std::string one = junit_xml({{"d.scn", false, "FAIL d.scn: boom", 0}});
  CHECK_THAT(one, Catch::Contains("<failure message=\"FAIL d.scn: boom\">FAIL d.scn: boom</failure>"));
}
