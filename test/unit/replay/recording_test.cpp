// chat-replay's recorder text: what a recorded session becomes in a scenario.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "replay_harness.hpp"

using namespace corochat::replay_test;

using namespace std::chrono_literals;

namespace {

// The one step that a line written by the recorder parses to.
Step reparse(const std::string& recorded) {
  INFO("recorded: " << recorded);
  return only_step(recorded);
}

}  // namespace

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
