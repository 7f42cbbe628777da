// Splits a byte stream into newline-terminated lines without ever holding more
// than `max_line` bytes of one line (plus a possible trailing '\r').
//
// Lines that arrive whole inside one input chunk are handed out as views into
// that chunk, with no copy; only a line split across chunks is buffered.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace corochat::protocol {

class LineFramer {
 public:
  explicit LineFramer(std::size_t max_line) : max_line_(max_line) {}

  // Feeds one chunk. For every complete, non-empty line calls
  // `sink.on_line(std::string_view)` (the '\n' and one trailing '\r' removed);
  // for every line that grows past max_line calls `sink.on_too_long()` once, as
  // soon as the limit is passed, and then skips the rest of that line.
  template <class Sink>
  void feed(std::string_view chunk, Sink& sink);

  // Bytes of an unfinished line held right now (for tests and memory bounds).
  std::size_t buffered() const { return partial_.size(); }
  bool skipping() const { return skipping_; }

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
      continue;
    }
    // The line so far is partial_ + piece. A trailing '\r' does not count
    // toward the limit (it is stripped if a '\n' follows), so the line is known
    // to be too long exactly when its length without that '\r' passes max_line.
    const std::size_t total = partial_.size() + piece.size();
    const char last = !piece.empty() ? piece.back() : (partial_.empty() ? '\0' : partial_.back());
    const std::size_t counted = last == '\r' ? total - 1 : total;
    if (counted > max_line_) {
      release();
      skipping_ = !complete;
      sink.on_too_long();
      continue;
    }
    if (!complete) {
      partial_.append(piece);
    } else if (partial_.empty()) {
      // The common case: a whole line inside this chunk, handed out uncopied.
      if (auto line = strip_cr(piece); !line.empty()) sink.on_line(line);
    } else {
      partial_.append(piece);
      if (auto line = strip_cr(partial_); !line.empty()) sink.on_line(line);
      release();
    }
  }
}

}  // namespace corochat::protocol
