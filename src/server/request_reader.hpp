// The read side of one connection, without its socket: bytes in, the requests
// to execute out, and when reading may go on. Pure (time is passed in); the
// transports' readers call it and do only the I/O.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "corochat/protocol/framer.hpp"
#include "corochat/protocol/request.hpp"
#include "server/rate_limiter.hpp"

namespace corochat::server {

class RequestReader {
 public:
  using Clock = RateLimiter::Clock;

  // flood_rate requests a second, flood_burst at once (rate 0: no limit).
  RequestReader(std::size_t max_line, double flood_rate, double flood_burst, Clock::time_point now)
      : framer_(max_line), flood_(flood_rate, flood_burst, now) {}

  // Frames and parses one read. Returns what to execute, in the order
  // received: requests, and errors in their place (line_too_long, bad_json,
  // rate_limited for a line over the flood limit). Every line counts toward
  // the flood limit; lines after a quit are not executed.
  std::vector<protocol::ParseResult> feed(std::string_view bytes, Clock::time_point now);

  // Input that is only drained (after quit, or while the server closes the
  // connection): it executes nothing but costs as much as ignored input.
  void discard(std::size_t bytes, Clock::time_point now) { charge(bytes, now); }

  // When reading may go on. Input that produces no request (empty lines, the
  // tail of an over-long line, bytes after quit, lines refused by the flood
  // limit) costs one flood token per max_line bytes: once a peer has spent
  // its budget that way, it is not read until the rate has paid the debt
  // back, so sending megabytes of nothing is throttled like sending
  // requests. `now` when there is no debt.
  Clock::time_point read_again_at(Clock::time_point now) { return flood_.out_of_debt_at(now); }

  bool quit() const { return quit_; }
  const protocol::LineFramer& framer() const { return framer_; }

 private:
  struct Sink;
  void charge(std::size_t ignored_bytes, Clock::time_point now) {
    if (ignored_bytes > 0) flood_.charge(now, static_cast<double>(ignored_bytes) / static_cast<double>(framer_.max_line()));
  }

  protocol::LineFramer framer_;
  RateLimiter flood_;
  bool quit_ = false;
};

}  // namespace corochat::server
