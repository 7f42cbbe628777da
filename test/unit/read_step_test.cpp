#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "server/connection/read_step.hpp"

using corochat::server::after_batch;
using corochat::server::after_read;
using corochat::server::ReadStep;
using corochat::server::RequestReader;
using namespace std::chrono_literals;

namespace {
const RequestReader::Clock::time_point t0{};
}

TEST_CASE("read step: requests are posted as one batch", "[read-step]") {
  RequestReader reader(64, 10, 20, t0);
  ReadStep step = after_read(reader, "{\"type\":\"ping\"}\n{\"type\":\"ping\"}\n", false, t0);
  CHECK(step.kind == ReadStep::Kind::post_batch);
  CHECK(step.batch.size() == 2);
  CHECK(after_batch(reader, t0).kind == ReadStep::Kind::read_again);
}

TEST_CASE("read step: input that makes no request is read again in a later turn", "[read-step]") {
  RequestReader reader(64, 10, 20, t0);
  ReadStep step = after_read(reader, "\n\n{\"type\":", false, t0);
  CHECK(step.kind == ReadStep::Kind::read_again);
  CHECK(step.batch.empty());
}

TEST_CASE("read step: while closing input is drained and executes nothing", "[read-step]") {
  RequestReader reader(64, 10, 20, t0);
  ReadStep step = after_read(reader, "{\"type\":\"ping\"}\n", true, t0);
  CHECK(step.kind == ReadStep::Kind::read_again);
  CHECK(step.batch.empty());
}

TEST_CASE("read step: ignored input past the budget throttles until the rate pays it back", "[read-step]") {
  // 10 tokens a second, 2 at once; one token per 64 ignored bytes.
  RequestReader reader(64, 10, 2, t0);
  ReadStep step = after_read(reader, std::string(64 * 12, '\n'), false, t0);
  REQUIRE(step.kind == ReadStep::Kind::throttled);
  CHECK(step.until > t0);
  CHECK(step.until == reader.read_again_at(t0));
  CHECK(after_batch(reader, step.until).kind == ReadStep::Kind::read_again);
}

TEST_CASE("read step: a batch over the flood limit is posted and the next read throttled", "[read-step]") {
  RequestReader reader(64, 10, 2, t0);
  std::string lines;
  for (int i = 0; i < 40; ++i) lines += "{\"type\":\"ping\"}\n";
  ReadStep step = after_read(reader, lines, false, t0);
  REQUIRE(step.kind == ReadStep::Kind::post_batch);
  CHECK(step.batch.size() == 40);  // refused lines keep their place as rate_limited
  ReadStep next = after_batch(reader, t0);
  CHECK(next.kind == ReadStep::Kind::throttled);
  CHECK(next.until > t0);
}
