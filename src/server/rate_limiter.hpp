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
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // Takes `cost` tokens whether or not they are there: the bucket may go into
  // debt, and allow() refuses until the rate has paid it back. For work whose
  // price is known only once it is done (input that produced no request, the
  // size of a reply).
  void charge(Clock::time_point now, double cost) {
    if (rate_ <= 0) return;
    refill(now);
    tokens_ -= cost;
  }

  // In debt: nothing more until the rate has refilled the bucket to zero.
  bool in_debt(Clock::time_point now) {
    if (rate_ <= 0) return false;
    refill(now);
    return tokens_ < 0;
  }

  // When the debt is paid back (now, when there is none).
  Clock::time_point out_of_debt_at(Clock::time_point now) {
    if (!in_debt(now)) return now;
    const std::chrono::duration<double> wait(-tokens_ / rate_);
    return now + std::chrono::ceil<Clock::duration>(wait);
  }

 private:
  void refill(Clock::time_point now) {
    if (now <= last_) return;  // time passed in never runs backwards here
    const std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
  }

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace corochat::server
