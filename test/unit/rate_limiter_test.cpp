#include <catch2/catch.hpp>

#include <chrono>

#include "server/rate_limiter.hpp"

using corochat::server::RateLimiter;
using namespace std::chrono_literals;

namespace {

using Clock = RateLimiter::Clock;
const Clock::time_point t0{};  // a fixed, explicit origin: no clock is read

// How many of `n` requests at the same instant are allowed.
int allowed_at(RateLimiter& limiter, Clock::time_point when, int n) {
  int allowed = 0;
  for (int i = 0; i < n; ++i)
    if (limiter.allow(when)) ++allowed;
  return allowed;
}

}  // namespace

TEST_CASE("rate limiter: a full burst is allowed at once, then denied", "[rate]") {
  RateLimiter limiter(10, 20, t0);
  CHECK(allowed_at(limiter, t0, 20) == 20);
  CHECK_FALSE(limiter.allow(t0));
  CHECK_FALSE(limiter.allow(t0));
}

TEST_CASE("rate limiter: tokens refill at the rate", "[rate]") {
  RateLimiter limiter(10, 20, t0);  // one token per 100 ms
  REQUIRE(allowed_at(limiter, t0, 20) == 20);

  CHECK_FALSE(limiter.allow(t0 + 50ms));  // half a token
  CHECK(limiter.allow(t0 + 100ms));       // one token
  CHECK_FALSE(limiter.allow(t0 + 100ms));

  CHECK(allowed_at(limiter, t0 + 600ms, 10) == 5);  // 500 ms later: five more
}

TEST_CASE("rate limiter: partial refills add up", "[rate]") {
  RateLimiter limiter(10, 1, t0);
  REQUIRE(limiter.allow(t0));
  CHECK_FALSE(limiter.allow(t0 + 40ms));
  CHECK_FALSE(limiter.allow(t0 + 80ms));
  CHECK(limiter.allow(t0 + 120ms));  // 40 + 40 + 40 ms: more than one token in total
}

TEST_CASE("rate limiter: tokens never exceed the burst", "[rate]") {
  RateLimiter limiter(10, 5, t0);
  REQUIRE(allowed_at(limiter, t0, 5) == 5);
  // A long silence would be worth 10000 tokens; only the burst comes back.
  const auto later = t0 + 1000s;
  CHECK(allowed_at(limiter, later, 100) == 5);
  CHECK_FALSE(limiter.allow(later));
}

TEST_CASE("rate limiter: a fresh limiter starts with a full burst, not more", "[rate]") {
  RateLimiter limiter(1, 3, t0);
  CHECK(allowed_at(limiter, t0 + 100s, 10) == 3);
}

TEST_CASE("rate limiter: sustained requests at the rate are all allowed", "[rate]") {
  RateLimiter limiter(10, 2, t0);
  REQUIRE(allowed_at(limiter, t0, 2) == 2);
  int allowed = 0;
  for (int i = 1; i <= 100; ++i)
    if (limiter.allow(t0 + i * 100ms)) ++allowed;
  CHECK(allowed == 100);
}

TEST_CASE("rate limiter: requests faster than the rate are partly denied", "[rate]") {
  RateLimiter limiter(10, 1, t0);
  int allowed = 0;
  for (int i = 0; i < 100; ++i)  // 20 a second for 5 s against 10 a second
    if (limiter.allow(t0 + i * 50ms)) ++allowed;
  CHECK(allowed >= 49);
  CHECK(allowed <= 51);
}

TEST_CASE("rate limiter: rate 0 always allows", "[rate]") {
  RateLimiter limiter(0, 0, t0);
  CHECK(allowed_at(limiter, t0, 100000) == 100000);
  RateLimiter with_burst(0, 20, t0);
  CHECK(allowed_at(with_burst, t0, 1000) == 1000);
}

TEST_CASE("rate limiter: a charge may go into debt, and nothing is allowed until the rate repays it", "[rate]") {
  RateLimiter limiter(10, 20, t0);  // one token per 100 ms
  limiter.charge(t0, 25);           // 20 there, 5 owed
  CHECK(limiter.in_debt(t0));
  CHECK_FALSE(limiter.allow(t0 + 400ms));  // 1 still owed
  CHECK(limiter.out_of_debt_at(t0 + 400ms) == t0 + 500ms);
  CHECK_FALSE(limiter.in_debt(t0 + 500ms));
  CHECK_FALSE(limiter.allow(t0 + 500ms));  // out of debt, but no whole token yet
  CHECK(limiter.allow(t0 + 600ms));
}

TEST_CASE("rate limiter: with rate 0 charges cost nothing", "[rate]") {
  RateLimiter limiter(0, 20, t0);
  limiter.charge(t0, 1e9);
  CHECK_FALSE(limiter.in_debt(t0));
  CHECK(limiter.out_of_debt_at(t0) == t0);
  CHECK(limiter.allow(t0));
}

TEST_CASE("rate limiter: a clock that steps back refills nothing and takes nothing", "[rate]") {
  RateLimiter limiter(10, 2, t0 + 1s);
  REQUIRE(allowed_at(limiter, t0 + 1s, 2) == 2);
  CHECK_FALSE(limiter.allow(t0));           // earlier than the last call
  CHECK(limiter.allow(t0 + 1s + 100ms));    // the rate still counts from the latest time seen
}
