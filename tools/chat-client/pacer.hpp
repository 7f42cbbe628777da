// Paces the client's own requests below the server's flood limit: a token
// bucket like the server's RateLimiter, but one that also says how long to
// wait for the next token. Pure (time is passed in).
#pragma once

#include <algorithm>
#include <chrono>

namespace corochat::chat_client {

class Pacer {
 public:
  using Clock = std::chrono::steady_clock;

  // Runs a little under the server's limit: requests that leave evenly spaced
  // can arrive bunched up, and the server's bucket must never run dry.
  static constexpr double rate_margin = 0.9;

  Pacer() = default;  // unlimited

  // `rate` and `burst` as advertised in welcome.limits (rate 0: no limit).
  // `spent` tokens are already used (the hello that registered).
  void reset(double rate, double burst, Clock::time_point now, double spent = 1) {
    rate_ = rate * rate_margin;
    burst_ = std::max(1.0, burst - 1);
    tokens_ = std::max(0.0, burst_ - spent);
    last_ = now;
  }

  // Zero, taking a token, when a request may go now; otherwise how long to
  // wait before asking again.
  Clock::duration take(Clock::time_point now) {
    if (rate_ <= 0) return Clock::duration::zero();
    refill(now);
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return Clock::duration::zero();
    }
    const std::chrono::duration<double> wait((1.0 - tokens_) / rate_);
    return std::max<Clock::duration>(std::chrono::ceil<Clock::duration>(wait) + std::chrono::microseconds(1), std::chrono::milliseconds(1));
  }

  // The server refused a request for flooding: start again from an empty bucket.
  void drain(Clock::time_point now) {
    refill(now);
    tokens_ = 0;
  }

  bool limited() const { return rate_ > 0; }

 private:
  void refill(Clock::time_point now) {
    const std::chrono::duration<double> elapsed = now - last_;
    if (elapsed.count() > 0) {
      tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
      last_ = now;
    }
  }

  double rate_ = 0;
  double burst_ = 1;
  double tokens_ = 1;
  Clock::time_point last_{};
};

}  // namespace corochat::chat_client
