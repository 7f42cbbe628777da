// A connection's clocks, without its timer: registration, keep-alive (idle,
// then the grace after the ping), the bound on closing and the throttled
// reader's wake-up, as plain values. The watchdog asks what is due when its
// one timer fires and when to fire next; nothing else sets that timer.
#pragma once

#include <chrono>

#include "server/config.hpp"

namespace corochat::server {

class Deadlines {
 public:
  using Clock = std::chrono::steady_clock;

  Deadlines(Clock::time_point now, const ConnectionLimits& limits)
      : last_input_(now), registration_due_(now + limits.registration) {}

  // What the watchdog finds due at one time; each is reported once.
  struct Due {
    enum class Closing { no, check_peer, expired };
    enum class Idle { no, ping, timed_out };
    bool wake_reader = false;            // the throttled reader's time has come
    Closing closing = Closing::no;       // closing: see whether the peer has it all, or close now
    bool registration_deadline = false;  // tell the broadcaster: no hello in time
    Idle idle = Idle::no;                // tell the broadcaster: ping it, or it did not answer
  };

  // Any bytes read count as activity.
  void input(Clock::time_point now) { last_input_ = now; }
  // The close grace starts; registration and keep-alive no longer matter.
  void begin_closing(Clock::time_point now, const ConnectionLimits& limits) { close_deadline_ = now + limits.close_grace; }
  bool closing() const { return close_deadline_ != Clock::time_point::max(); }

  // The reader waits until `until` (its flood budget is in debt).
  void throttle_reader(Clock::time_point until) { reader_wakes_at_ = until; }
  bool reader_throttled() const { return reader_wakes_at_ != Clock::time_point{}; }
  void end_reader_throttle() { reader_wakes_at_ = {}; }

  // What is due at `now`, marked as reported.
  Due take_due(Clock::time_point now, const ConnectionLimits& limits);

  // When the watchdog should look again. `polls_close`: the transport learns
  // by polling that a closing peer has everything (plain TCP, SIOCOUTQ), soon
  // after the FIN (a LAN acknowledges within a millisecond), then less often.
  Clock::time_point wake_at(Clock::time_point now, const ConnectionLimits& limits, bool polls_close) const;

 private:
  Clock::time_point last_input_;
  Clock::time_point registration_due_;
  Clock::time_point pinged_at_{};
  Clock::time_point close_deadline_ = Clock::time_point::max();
  Clock::time_point reader_wakes_at_{};  // set: the reader is throttled
  bool registration_pending_ = true;
  bool pinged_ = false;
};

}  // namespace corochat::server
