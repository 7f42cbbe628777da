// Fuzzes LineFramer: the lines and `too long` signals it gives for a byte
// stream must not depend on how the stream is cut into chunks, and must be
// those of a plain reference model of the framing rule:
//
//   each '\n'-terminated line, one trailing '\r' not counted, is too long when
//   it passes max_line, else handed out without that '\r' unless empty; an
//   unfinished last line is only ever reported as too long.
//
// The stream is fed three ways: whole, one byte at a time (every possible
// boundary) and in pseudo-random chunks. Byte by byte, `too long` must come
// with the very byte that passes the limit, and the framer must never hold
// more than max_line + 1 bytes.
//
// Input: byte 0 is max_line (0-255), byte 1 seeds the chunk sizes, the rest is
// the stream.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "corochat/protocol/framer.hpp"

namespace {

using corochat::protocol::LineFramer;

// A line, or `too long` (the empty optional would be ambiguous with an empty
// line, so the kind is explicit), with the stream offset it was reported at.
struct Event {
  bool too_long = false;
  std::string line;
  std::size_t at = 0;  // index of the byte whose feeding produced it (byte mode only)

  bool operator==(const Event& other) const { return too_long == other.too_long && line == other.line; }
};

[[noreturn]] void fail(const char* what, std::size_t index) {
  std::fprintf(stderr, "framer_fuzz: %s (event %zu)\n", what, index);
  std::abort();
}

struct Recorder {
  std::vector<Event>* events;
  std::size_t at = 0;
  void on_line(std::string_view line) { events->push_back({false, std::string(line), at}); }
  void on_too_long() { events->push_back({true, {}, at}); }
};

// The framing rule applied to the whole stream at once. Each event's `at` is
// where a byte-by-byte framer must report it.
std::vector<Event> reference(std::string_view stream, std::size_t max_line) {
  std::vector<Event> out;
  std::size_t start = 0;
  while (start < stream.size()) {
    const std::size_t newline = stream.find('\n', start);
    const bool complete = newline != std::string_view::npos;
    const std::size_t end = complete ? newline : stream.size();
    // The first prefix whose length, a trailing '\r' not counted, passes max_line.
    bool too_long = false;
    for (std::size_t i = start; i < end; ++i) {
      const std::size_t length = i - start + 1;
      const std::size_t counted = stream[i] == '\r' ? length - 1 : length;
      if (counted > max_line) {
        out.push_back({true, {}, i});
        too_long = true;
        break;
      }
    }
    if (complete && !too_long) {
      std::string_view line = stream.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) out.push_back({false, std::string(line), newline});
    }
    start = complete ? newline + 1 : stream.size();
  }
  return out;
}

void check_same(const std::vector<Event>& expected, const std::vector<Event>& got, const char* mode) {
  if (got.size() != expected.size()) {
    std::fprintf(stderr, "framer_fuzz: %s feeding gave %zu events, the rule %zu\n", mode, got.size(),
                 expected.size());
    std::abort();
  }
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == expected[i])) fail(mode, i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t max_line = data[0];
  std::uint32_t chunk_seed = data[1] + 1u;
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::vector<Event> expected = reference(stream, max_line);

  {  // Whole.
    std::vector<Event> got;
    Recorder sink{&got};
    LineFramer framer(max_line);
    framer.feed(stream, sink);
    check_same(expected, got, "whole");
  }
  {  // Byte by byte: events at the right byte, and memory bounded all along.
    std::vector<Event> got;
    Recorder sink{&got};
    LineFramer framer(max_line);
    for (std::size_t i = 0; i < stream.size(); ++i) {
      sink.at = i;
      framer.feed(stream.substr(i, 1), sink);
      if (framer.buffered() > max_line + 1) fail("holds more than max_line + 1 bytes", got.size());
    }
    check_same(expected, got, "byte-by-byte");
    for (std::size_t i = 0; i < got.size(); ++i)
      if (got[i].at != expected[i].at) fail("byte-by-byte: reported at the wrong byte", i);
    framer.reset();
    if (framer.buffered() != 0 || framer.skipping()) fail("reset left state behind", got.size());
  }
  {  // Pseudo-random chunks (an xorshift seeded by byte 1), empty ones included.
    std::vector<Event> got;
    Recorder sink{&got};
    LineFramer framer(max_line);
    const std::size_t largest = (data[1] % 40) + 1;
    std::string_view rest = stream;
    while (!rest.empty()) {
      chunk_seed ^= chunk_seed << 13;
      chunk_seed ^= chunk_seed >> 17;
      chunk_seed ^= chunk_seed << 5;
      const std::size_t n = std::min<std::size_t>(chunk_seed % (largest + 1), rest.size());
      framer.feed(rest.substr(0, n), sink);
      rest.remove_prefix(n);
      if (framer.buffered() > max_line + 1) fail("holds more than max_line + 1 bytes", got.size());
    }
    check_same(expected, got, "chunked");
  }
  return 0;
}
