#include "server/connection/deadlines.hpp"

#include <algorithm>

namespace corochat::server {

Deadlines::Due Deadlines::take_due(Clock::time_point now, const ConnectionLimits& limits) {
  Due due;
  if (reader_throttled() && now >= reader_wakes_at_) {
    due.wake_reader = true;
    reader_wakes_at_ = {};
  }
  if (closing()) {
    due.closing = now >= close_deadline_ ? Due::Closing::expired : Due::Closing::check_peer;
    return due;
  }
  if (registration_pending_ && now >= registration_due_) {
    registration_pending_ = false;
    due.registration_deadline = true;
  }
  if (pinged_ && last_input_ > pinged_at_) pinged_ = false;  // it answered
  if (!pinged_ && now >= last_input_ + limits.idle) {
    pinged_ = true;
    pinged_at_ = now;
    due.idle = Due::Idle::ping;
  } else if (pinged_ && now >= pinged_at_ + limits.idle_grace) {
    // The broadcaster is closing it: do not ping again meanwhile.
    pinged_ = false;
    last_input_ = now;
    due.idle = Due::Idle::timed_out;
  }
  return due;
}

Deadlines::Clock::time_point Deadlines::wake_at(Clock::time_point now, const ConnectionLimits& limits,
                                                bool polls_close) const {
  Clock::time_point at;
  if (closing()) {
    at = close_deadline_;
    if (polls_close) {
      const auto elapsed = now - (close_deadline_ - limits.close_grace);
      at = std::min(at, now + std::clamp<Clock::duration>(elapsed / 4, std::chrono::milliseconds(1),
                                                          std::chrono::milliseconds(50)));
    }
  } else {
    at = pinged_ ? pinged_at_ + limits.idle_grace : last_input_ + limits.idle;
    if (registration_pending_) at = std::min(at, registration_due_);
  }
  if (reader_throttled()) at = std::min(at, reader_wakes_at_);
  return at;
}

}  // namespace corochat::server
