#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "corochat/protocol/framer.hpp"

using corochat::protocol::LineFramer;

namespace {

// Records what the framer hands out. Every event goes into one ordered log so
// that tests can check where a too-long report falls among the lines.
struct RecordingSink {
  std::vector<std::string> lines;
  std::vector<std::string> log;  // lines as "line:<text>", too-long reports as "too_long"
  int too_long = 0;

  void on_line(std::string_view line) {
    lines.emplace_back(line);
    log.push_back("line:" + std::string(line));
  }
  void on_too_long() {
    ++too_long;
    log.emplace_back("too_long");
  }
};

RecordingSink feed_whole(std::string_view input, std::size_t max_line = 1024) {
  LineFramer framer(max_line);
  RecordingSink sink;
  framer.feed(input, sink);
  return sink;
}

RecordingSink feed_bytewise(std::string_view input, std::size_t max_line = 1024) {
  LineFramer framer(max_line);
  RecordingSink sink;
  for (char c : input) framer.feed(std::string_view(&c, 1), sink);
  return sink;
}

}  // namespace

TEST_CASE("framer: complete lines in one chunk are delivered in order", "[framer]") {
  auto sink = feed_whole("one\ntwo\nthree\n");
  CHECK(sink.lines == std::vector<std::string>{"one", "two", "three"});
  CHECK(sink.too_long == 0);
}

TEST_CASE("framer: a line split across chunks is joined", "[framer]") {
  LineFramer framer(1024);
  RecordingSink sink;
  framer.feed("{\"type\":", sink);
  CHECK(sink.lines.empty());
  CHECK(framer.buffered() == 8);
  framer.feed("\"ping\"}\n{\"ty", sink);
  REQUIRE(sink.lines.size() == 1);
  CHECK(sink.lines[0] == R"({"type":"ping"})");
  CHECK(framer.buffered() == 4);
  framer.feed("pe\":\"pong\"}\n", sink);
  CHECK(sink.lines == std::vector<std::string>{R"({"type":"ping"})", R"({"type":"pong"})"});
  CHECK(framer.buffered() == 0);
}

TEST_CASE("framer: bytes after the last newline wait for more input", "[framer]") {
  LineFramer framer(1024);
  RecordingSink sink;
  framer.feed("done\npending", sink);
  CHECK(sink.lines == std::vector<std::string>{"done"});
  CHECK(framer.buffered() == 7);
}

TEST_CASE("framer: CRLF is stripped, but only one trailing CR", "[framer]") {
  auto sink = feed_whole("a\r\nb\r\r\nc\rd\n");
  CHECK(sink.lines == std::vector<std::string>{"a", "b\r", "c\rd"});
}

TEST_CASE("framer: CR and LF arriving in different chunks are still CRLF", "[framer]") {
  LineFramer framer(1024);
  RecordingSink sink;
  framer.feed("hello\r", sink);
  CHECK(sink.lines.empty());
  framer.feed("\n", sink);
  CHECK(sink.lines == std::vector<std::string>{"hello"});
}

TEST_CASE("framer: empty lines are skipped, with or without CR", "[framer]") {
  auto sink = feed_whole("\n\nx\n\r\n\n\r\ny\n");
  CHECK(sink.lines == std::vector<std::string>{"x", "y"});
  CHECK(sink.too_long == 0);
}

TEST_CASE("framer: byte-by-byte input gives the same lines as whole input", "[framer]") {
  const std::string input = "{\"type\":\"hello\",\"nick\":\"alice\"}\r\n\n  spaced  \nlast\r\r\nx\n";
  auto whole = feed_whole(input);
  auto bytewise = feed_bytewise(input);
  CHECK(bytewise.lines == whole.lines);
  CHECK(whole.lines == std::vector<std::string>{R"({"type":"hello","nick":"alice"})", "  spaced  ", "last\r", "x"});
}

TEST_CASE("framer: byte-by-byte input with an over-long line matches whole input", "[framer]") {
  const std::string input = "ok\n" + std::string(20, 'z') + "\nafter\n";
  auto whole = feed_whole(input, 8);
  auto bytewise = feed_bytewise(input, 8);
  CHECK(whole.log == std::vector<std::string>{"line:ok", "too_long", "line:after"});
  CHECK(bytewise.log == whole.log);
}

TEST_CASE("framer: a line of exactly max_line bytes is accepted", "[framer]") {
  constexpr std::size_t max = 16;
  const std::string line(max, 'a');

  SECTION("with LF") {
    auto sink = feed_whole(line + "\n", max);
    CHECK(sink.too_long == 0);
    CHECK(sink.lines == std::vector<std::string>{line});
  }
  SECTION("with CRLF: the CR does not count") {
    auto sink = feed_whole(line + "\r\n", max);
    CHECK(sink.too_long == 0);
    CHECK(sink.lines == std::vector<std::string>{line});
  }
  SECTION("with CRLF, byte by byte") {
    auto sink = feed_bytewise(line + "\r\n", max);
    CHECK(sink.too_long == 0);
    CHECK(sink.lines == std::vector<std::string>{line});
  }
}

TEST_CASE("framer: a line of max_line+1 bytes is rejected", "[framer]") {
  constexpr std::size_t max = 16;
  const std::string line(max + 1, 'a');

  SECTION("in one chunk") {
    auto sink = feed_whole(line + "\nnext\n", max);
    CHECK(sink.log == std::vector<std::string>{"too_long", "line:next"});
  }
  SECTION("with CRLF") {
    auto sink = feed_whole(line + "\r\nnext\n", max);
    CHECK(sink.log == std::vector<std::string>{"too_long", "line:next"});
  }
  SECTION("max_line bytes plus a CR that is not the trailing one") {
    auto sink = feed_whole(std::string(max, 'a') + "\r\r\nnext\n", max);
    CHECK(sink.log == std::vector<std::string>{"too_long", "line:next"});
  }
}

TEST_CASE("framer: too long is reported once, as soon as the limit is passed", "[framer]") {
  constexpr std::size_t max = 10;
  LineFramer framer(max);
  RecordingSink sink;

  framer.feed(std::string(max, 'x'), sink);
  CHECK(sink.too_long == 0);
  CHECK(framer.buffered() == max);

  framer.feed("x", sink);  // max+1 bytes, no newline yet
  CHECK(sink.too_long == 1);
  CHECK(framer.skipping());
  CHECK(framer.buffered() == 0);

  framer.feed(std::string(1000, 'y'), sink);  // the rest of the same line
  CHECK(sink.too_long == 1);
  CHECK(framer.buffered() == 0);

  framer.feed("yyy\nnext line\n", sink);
  CHECK(sink.too_long == 1);
  CHECK_FALSE(framer.skipping());
  CHECK(sink.lines == std::vector<std::string>{"next line"});
}

TEST_CASE("framer: a trailing CR alone does not trigger too long before the newline", "[framer]") {
  constexpr std::size_t max = 10;
  LineFramer framer(max);
  RecordingSink sink;
  framer.feed(std::string(max, 'x') + "\r", sink);
  CHECK(sink.too_long == 0);
  CHECK(framer.buffered() == max + 1);
  SECTION("a newline completes a valid line") {
    framer.feed("\n", sink);
    CHECK(sink.too_long == 0);
    CHECK(sink.lines == std::vector<std::string>{std::string(max, 'x')});
  }
  SECTION("another byte makes it too long") {
    framer.feed("x", sink);
    CHECK(sink.too_long == 1);
    framer.feed("\nok\n", sink);
    CHECK(sink.lines == std::vector<std::string>{"ok"});
  }
}

TEST_CASE("framer: each over-long line gets its own single report", "[framer]") {
  const std::string big(50, 'b');
  auto sink = feed_whole(big + "\n" + "fine\n" + big + "\r\n", 8);
  CHECK(sink.log == std::vector<std::string>{"too_long", "line:fine", "too_long"});
}

TEST_CASE("framer: buffered() stays within max_line+1 while a huge line arrives byte by byte", "[framer]") {
  constexpr std::size_t max = 64;
  LineFramer framer(max);
  RecordingSink sink;
  std::size_t peak = 0;
  // A huge line that keeps ending in '\r' every few bytes, to exercise the
  // CR allowance too.
  for (int i = 0; i < 100000; ++i) {
    const char c = (i % 7 == 6) ? '\r' : 'q';
    framer.feed(std::string_view(&c, 1), sink);
    peak = std::max(peak, framer.buffered());
    REQUIRE(framer.buffered() <= max + 1);
  }
  CHECK(peak >= max);  // it did hold a partial line up to the limit
  CHECK(sink.too_long == 1);
  framer.feed("\nafter\n", sink);
  CHECK(sink.log == std::vector<std::string>{"too_long", "line:after"});
}

TEST_CASE("framer: invalid UTF-8 bytes pass through unchanged", "[framer]") {
  const std::string payload = "\xff\xfe\xc3(\x80 end";  // not UTF-8
  const std::string with_nul = std::string("a\0b", 3);

  auto whole = feed_whole(payload + "\n" + with_nul + "\r\n");
  REQUIRE(whole.lines.size() == 2);
  CHECK(whole.lines[0] == payload);
  CHECK(whole.lines[1] == with_nul);
  CHECK(whole.lines[1].size() == 3);

  auto bytewise = feed_bytewise(payload + "\n" + with_nul + "\r\n");
  CHECK(bytewise.lines == whole.lines);
}

TEST_CASE("framer: reset() drops the unfinished line", "[framer]") {
  LineFramer framer(1024);
  RecordingSink sink;
  framer.feed("partial-without-newline", sink);
  REQUIRE(framer.buffered() > 0);
  framer.reset();
  CHECK(framer.buffered() == 0);
  framer.feed("fresh\n", sink);
  CHECK(sink.lines == std::vector<std::string>{"fresh"});
}

TEST_CASE("framer: reset() ends skipping an over-long line", "[framer]") {
  LineFramer framer(4);
  RecordingSink sink;
  framer.feed("toolong", sink);
  REQUIRE(framer.skipping());
  framer.reset();
  CHECK_FALSE(framer.skipping());
  framer.feed("abc\n", sink);
  CHECK(sink.log == std::vector<std::string>{"too_long", "line:abc"});
}

TEST_CASE("framer: an unfinished line never holds more than max_line+1 bytes of buffer", "[framer]") {
  // A 16383-byte line arriving as 13107 + 3276 bytes (reads of that size)
  // used to double its buffer to 26 KiB.
  constexpr std::size_t max_line = 16384;
  LineFramer framer(max_line);
  RecordingSink sink;
  const std::string line(16383, 'x');
  framer.feed(std::string_view(line).substr(0, 13107), sink);
  framer.feed(std::string_view(line).substr(13107), sink);
  CHECK(framer.buffered() == 16383);
  CHECK(framer.buffer_capacity() <= max_line + 1);
  framer.feed("\n", sink);
  CHECK(sink.lines.size() == 1);
  CHECK(framer.buffer_capacity() <= std::string().capacity());  // freed
}

namespace {
// Counts what produced nothing, beside the lines.
struct IgnoringSink : RecordingSink {
  std::size_t ignored = 0;
  void on_ignored(std::size_t bytes) { ignored += bytes; }
};
}  // namespace

TEST_CASE("framer: bytes that produce nothing are reported as ignored", "[framer]") {
  LineFramer framer(8);
  IgnoringSink sink;
  framer.feed("\n\r\n\n", sink);  // empty lines: 4 bytes
  CHECK(sink.ignored == 4);
  framer.feed("abc\n", sink);  // a line: nothing ignored
  CHECK(sink.ignored == 4);
  framer.feed("0123456789", sink);  // too long: the 10 bytes so far
  CHECK(sink.ignored == 14);
  framer.feed("xyz", sink);  // the skipped tail
  CHECK(sink.ignored == 17);
  framer.feed("w\nok\n", sink);  // the tail's end and its newline
  CHECK(sink.ignored == 19);
  CHECK(sink.log == std::vector<std::string>{"line:abc", "too_long", "line:ok"});
  framer.feed("ab", sink);
  framer.feed("\r\n", sink);  // a split line is not ignored
  CHECK(sink.ignored == 19);
  framer.feed("\r", sink);
  framer.feed("\n", sink);  // a split empty line is
  CHECK(sink.ignored == 21);
}
