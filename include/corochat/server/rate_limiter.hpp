// The flood limit: a token bucket per connection. Pure (time is passed in).
#pragma once

#include <algorithm>
#include <chrono>

namespace corochat::server {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `rate` requests a second on average, up to `burst` at once; rate 0 disables.
  RateLimiter(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(now) {}

  // Takes one token if there is one.
  bool allow(Clock::time_point now) {
    if (rate_ <= 0) return true;
    const std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace corochat::server
