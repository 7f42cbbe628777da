// Splits a byte stream into newline-terminated lines without ever holding more
// than `max_line` bytes of one line (plus a possible trailing '\r').
//
// Lines that arrive whole inside one input chunk are handed out as views into
// that chunk, with no copy; only a line split across chunks is buffered.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace corochat::protocol {

// The longest request line, in bytes, chatd takes unless --max-line says
// otherwise: its ServerConfig default and what its welcome then advertises.
inline constexpr std::size_t default_max_line = 16384;

class LineFramer {
 public:
  explicit LineFramer(std::size_t max_line = default_max_line) : max_line_(max_line) {}

  // Feeds one chunk. For every complete, non-empty line calls
  // `sink.on_line(std::string_view)` (the '\n' and one trailing '\r' removed);
  // for every line that grows past max_line calls `sink.on_too_long()` once, as
  // soon as the limit is passed, and then skips the rest of that line. A sink
  // that has `on_ignored(std::size_t)` is told how many bytes produced nothing
  // (empty lines, the discarded part of an over-long line), so that a server
  // can make such input cost something too.
  template <class Sink>
  void feed(std::string_view chunk, Sink& sink);

  // Bytes of an unfinished line held right now (for tests and memory bounds).
  std::size_t buffered() const { return partial_.size(); }
  // Bytes allocated for it: never more than max_line + 1.
  std::size_t buffer_capacity() const { return partial_.capacity(); }
  bool skipping() const { return skipping_; }
  std::size_t max_line() const { return max_line_; }

  // Drops the unfinished line (end of input discards it).
  void reset() {
    release();
    skipping_ = false;
  }

 private:
  static std::string_view strip_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }

  // Frees the buffer, not just empties it: an idle connection holds no
  // allocation for the long line it once sent.
  void release() { std::string().swap(partial_); }

  // Appends to the unfinished line. The buffer grows by doubling, but never
  // past what the longest allowed line needs: a line arriving in two pieces
  // of 13 and 3 KiB must not hold 26 KiB.
  void hold(std::string_view piece) {
    const std::size_t needed = partial_.size() + piece.size();
    if (needed > partial_.capacity()) {
      // Into a new string: std::string::reserve itself at least doubles.
      std::string grown;
      grown.reserve(std::min(std::max(needed, 2 * partial_.capacity()), std::max(needed, max_line_ + 1)));
      grown.append(partial_);
      partial_.swap(grown);
    }
    partial_.append(piece);
  }

  template <class Sink>
  static void ignored(Sink& sink, std::size_t bytes) {
    if constexpr (requires { sink.on_ignored(bytes); }) sink.on_ignored(bytes);
  }

  std::size_t max_line_;
  std::string partial_;  // the start of a line whose '\n' has not arrived
  bool skipping_ = false;  // inside an oversized line, waiting for its '\n'
};

template <class Sink>
void LineFramer::feed(std::string_view chunk, Sink& sink) {
  while (!chunk.empty()) {
    const std::size_t newline = chunk.find('\n');
    const bool complete = newline != std::string_view::npos;
    const std::string_view piece = chunk.substr(0, complete ? newline : chunk.size());
    chunk.remove_prefix(complete ? newline + 1 : chunk.size());

    if (skipping_) {
      skipping_ = !complete;
      ignored(sink, piece.size() + (complete ? 1 : 0));
      continue;
    }
    // The line so far is partial_ + piece. A trailing '\r' does not count
    // toward the limit (it is stripped if a '\n' follows), so the line is known
    // to be too long exactly when its length without that '\r' passes max_line.
    const std::size_t total = partial_.size() + piece.size();
    const char last = !piece.empty() ? piece.back() : (partial_.empty() ? '\0' : partial_.back());
    const std::size_t counted = last == '\r' ? total - 1 : total;
    if (counted > max_line_) {
      ignored(sink, total + (complete ? 1 : 0));
      release();
      skipping_ = !complete;
      sink.on_too_long();
      continue;
    }
    if (!complete) {
      hold(piece);
    } else if (partial_.empty()) {
      // The common case: a whole line inside this chunk, handed out uncopied.
      if (auto line = strip_cr(piece); !line.empty()) sink.on_line(line);
      else ignored(sink, piece.size() + 1);
    } else {
      hold(piece);
      if (auto line = strip_cr(partial_); !line.empty()) sink.on_line(line);
      else ignored(sink, partial_.size() + 1);
      release();
    }
  }
}

}  // namespace corochat::protocol
