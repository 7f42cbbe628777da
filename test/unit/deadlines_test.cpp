#include <catch2/catch.hpp>

#include <chrono>

#include "server/connection/deadlines.hpp"

using corochat::server::Deadlines;
using corochat::server::ConnectionLimits;
using Due = Deadlines::Due;
using namespace std::chrono_literals;

namespace {

const Deadlines::Clock::time_point t0 = Deadlines::Clock::time_point{} + 1000s;

ConnectionLimits limits() {
  ConnectionLimits l;
  l.idle = 120s;
  l.idle_grace = 30s;
  l.registration = 30s;
  l.close_grace = 5s;
  return l;
}

}  // namespace

TEST_CASE("deadlines: the registration deadline is due once", "[deadlines]") {
  const ConnectionLimits l = limits();
  Deadlines d(t0, l);
  CHECK(d.wake_at(t0, l, false) == t0 + 30s);
  CHECK_FALSE(d.take_due(t0 + 29s, l).registration_deadline);
  CHECK(d.take_due(t0 + 30s, l).registration_deadline);
  CHECK_FALSE(d.take_due(t0 + 31s, l).registration_deadline);
  CHECK(d.wake_at(t0 + 31s, l, false) == t0 + 120s);  // then only the idle time
}

TEST_CASE("deadlines: silence brings a ping then timed_out after the grace", "[deadlines]") {
  const ConnectionLimits l = limits();
  Deadlines d(t0, l);
  d.take_due(t0 + 30s, l);  // registration
  CHECK(d.take_due(t0 + 119s, l).idle == Due::Idle::no);
  CHECK(d.take_due(t0 + 120s, l).idle == Due::Idle::ping);
  CHECK(d.wake_at(t0 + 120s, l, false) == t0 + 150s);
  CHECK(d.take_due(t0 + 149s, l).idle == Due::Idle::no);
  CHECK(d.take_due(t0 + 150s, l).idle == Due::Idle::timed_out);
  // The broadcaster is closing it: no second ping for another idle time.
  CHECK(d.take_due(t0 + 151s, l).idle == Due::Idle::no);
  CHECK(d.wake_at(t0 + 151s, l, false) == t0 + 270s);
}

TEST_CASE("deadlines: input after the ping answers it", "[deadlines]") {
  const ConnectionLimits l = limits();
  Deadlines d(t0, l);
  d.take_due(t0 + 30s, l);
  CHECK(d.take_due(t0 + 120s, l).idle == Due::Idle::ping);
  d.input(t0 + 125s);
  CHECK(d.take_due(t0 + 150s, l).idle == Due::Idle::no);
  CHECK(d.wake_at(t0 + 150s, l, false) == t0 + 245s);
}

TEST_CASE("deadlines: registration and ping due together are both reported", "[deadlines]") {
  ConnectionLimits l = limits();
  l.idle = 30s;
  Deadlines d(t0, l);
  const Due due = d.take_due(t0 + 30s, l);
  CHECK(due.registration_deadline);
  CHECK(due.idle == Due::Idle::ping);
}

TEST_CASE("deadlines: while closing only the close grace counts", "[deadlines]") {
  const ConnectionLimits l = limits();
  Deadlines d(t0, l);
  d.begin_closing(t0 + 1s, l);
  CHECK(d.closing());
  CHECK(d.wake_at(t0 + 1s, l, false) == t0 + 6s);  // no registration deadline while closing
  CHECK(d.take_due(t0 + 2s, l).closing == Due::Closing::check_peer);
  const Due due = d.take_due(t0 + 40s, l);  // the grace is up; so is the registration time
  CHECK(due.closing == Due::Closing::expired);
  CHECK_FALSE(due.registration_deadline);
  CHECK(d.take_due(t0 + 200s, l).idle == Due::Idle::no);
}

TEST_CASE("deadlines: a polled close is checked soon after the FIN then less often", "[deadlines]") {
  const ConnectionLimits l = limits();
  Deadlines d(t0, l);
  d.begin_closing(t0, l);
  CHECK(d.wake_at(t0, l, true) == t0 + 1ms);
  CHECK(d.wake_at(t0 + 40ms, l, true) == t0 + 50ms);          // a quarter of the time spent
  CHECK(d.wake_at(t0 + 1s, l, true) == t0 + 1s + 50ms);       // at most 50 ms apart
  CHECK(d.wake_at(t0 + 5s - 10ms, l, true) == t0 + 5s);       // never past the grace
}

TEST_CASE("deadlines: the throttled reader is woken once its time comes", "[deadlines]") {
  const ConnectionLimits l = limits();
  Deadlines d(t0, l);
  d.throttle_reader(t0 + 2s);
  CHECK(d.reader_throttled());
  CHECK(d.wake_at(t0, l, false) == t0 + 2s);
  CHECK_FALSE(d.take_due(t0 + 1s, l).wake_reader);
  CHECK(d.take_due(t0 + 2s, l).wake_reader);
  CHECK_FALSE(d.reader_throttled());
  CHECK_FALSE(d.take_due(t0 + 3s, l).wake_reader);
  d.begin_closing(t0 + 3s, l);
  d.throttle_reader(t0 + 4s);
  CHECK(d.take_due(t0 + 4s, l).wake_reader);  // also while closing
}
