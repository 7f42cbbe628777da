// chat-replay's matcher: partial JSON matches, paths, captures and variables.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "replay_harness.hpp"

using namespace corochat::replay_test;

namespace {

bool match(std::string_view expected, std::string_view actual) { return matches(j(expected), j(actual)); }

}  // namespace

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
