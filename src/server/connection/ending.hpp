// How a connection ends, without its socket: every end (the reader's, the
// writer's, abort, close) goes through here, so that the broadcaster hears
// `closed` exactly once, after both reader and writer stopped touching the
// stream, and `input_ended` only when the end of input is news to it.
#pragma once

namespace corochat::server {

class Ending {
 public:
  // close_after_flush: true the first time, unless aborted.
  bool begin_closing() {
    if (closing_ || aborted_) return false;
    closing_ = true;
    return true;
  }
  void abort() { aborted_ = true; }
  // The stream is closed now: true the first time only (the caller closes it).
  bool close_stream() {
    if (stream_closed_) return false;
    stream_closed_ = true;
    return true;
  }
  void end_input() { input_done_ = true; }

  bool closing() const { return closing_; }
  bool aborted() const { return aborted_; }
  bool stream_closed() const { return stream_closed_; }
  bool input_done() const { return input_done_; }
  // Lines for a connection going away are dropped, not queued.
  bool going_away() const { return aborted_ || stream_closed_; }

  // At the end of input: the broadcaster is told unless it already knows the
  // connection is ending (a quit, its own close or abort).
  bool reports_input_ended(bool quit) const { return !quit && !closing_ && !aborted_; }

  // The reader and the writer each call this once: true for the last one,
  // which closes the stream if still open and reports the connection closed.
  bool part_done() { return --running_ == 0; }

 private:
  int running_ = 2;  // reader and writer
  bool closing_ = false;
  bool aborted_ = false;
  bool stream_closed_ = false;
  bool input_done_ = false;  // the reader has seen the end of input, or an error
};

}  // namespace corochat::server
