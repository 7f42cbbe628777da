#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <variant>

#include "server/request_reader.hpp"

using corochat::server::RequestReader;
using namespace corochat::protocol;
using namespace std::chrono_literals;

namespace {

const RequestReader::Clock::time_point t0{};

ErrorCode error_of(const ParseResult& item) { return std::get<RequestError>(item).code; }
bool is_request(const ParseResult& item) { return std::holds_alternative<Request>(item); }

}  // namespace

TEST_CASE("request reader: lines become requests and errors in the order received", "[reader]") {
  RequestReader reader(64, 10, 20, t0);
  auto items = reader.feed("{\"type\":\"ping\"}\n{bad\n" + std::string(100, 'x') + "\n{\"type\":\"ping\"}\n", t0);
  REQUIRE(items.size() == 4);
  CHECK(is_request(items[0]));
  CHECK(error_of(items[1]) == ErrorCode::bad_json);
  CHECK(error_of(items[2]) == ErrorCode::line_too_long);
  CHECK(is_request(items[3]));
  CHECK(reader.read_again_at(t0) == t0);  // 101 ignored bytes: far from a debt
}

TEST_CASE("request reader: past the flood burst each line is rate_limited in its place", "[reader]") {
  RequestReader reader(1024, 10, 3, t0);
  std::string lines;
  for (int i = 0; i < 5; ++i) lines += "{\"type\":\"ping\",\"id\":" + std::to_string(i) + "}\n";
  auto items = reader.feed(lines, t0);
  REQUIRE(items.size() == 5);
  CHECK(is_request(items[2]));
  CHECK(error_of(items[3]) == ErrorCode::rate_limited);
  CHECK(std::get<RequestError>(items[4]).id == RequestId(boost::json::value(4)));
}

TEST_CASE("request reader: input that makes no request spends the flood budget, then waits for the rate", "[reader]") {
  // One token per max_line (1000) bytes of empty lines; 10 tokens a second, 20 at once.
  RequestReader reader(1000, 10, 20, t0);
  CHECK(reader.feed(std::string(15'000, '\n'), t0).empty());
  CHECK(reader.read_again_at(t0) == t0);  // 15 of 20 spent
  CHECK(reader.feed(std::string(10'000, '\n'), t0).empty());
  CHECK(reader.read_again_at(t0) == t0 + 500ms);  // 5 owed: half a second at 10 a second
  // A request while in debt is refused like any over the limit.
  auto items = reader.feed("{\"type\":\"ping\"}\n", t0 + 100ms);
  REQUIRE(items.size() == 1);
  CHECK(error_of(items[0]) == ErrorCode::rate_limited);
  // ...and its 16 bytes add to the debt: 0.016 of a token, 1.6 ms.
  CHECK(reader.read_again_at(t0 + 500ms) > t0 + 501500us);
  CHECK(reader.read_again_at(t0 + 500ms) < t0 + 501700us);
}

TEST_CASE("request reader: the tail of an over-long line costs like empty lines", "[reader]") {
  RequestReader reader(1000, 10, 2, t0);
  auto items = reader.feed("{" + std::string(1500, 'a'), t0);  // too long: one error, then skipping
  REQUIRE(items.size() == 1);
  CHECK(error_of(items[0]) == ErrorCode::line_too_long);
  CHECK(reader.feed(std::string(3000, 'a'), t0).empty());
  CHECK(reader.read_again_at(t0) > t0);  // 1 token for the line, 4.5 for its bytes, 2 there
}

TEST_CASE("request reader: lines after quit are not executed, and cost as ignored input", "[reader]") {
  RequestReader reader(1000, 10, 1, t0);
  auto items = reader.feed("{\"type\":\"quit\"}\n{\"type\":\"ping\"}\n", t0);
  REQUIRE(items.size() == 1);
  CHECK(reader.quit());
  CHECK(reader.feed(std::string(5000, 'x') + "\n", t0).empty());
  CHECK(reader.read_again_at(t0) > t0);
  reader.discard(1'000'000, t0);
  CHECK(reader.read_again_at(t0) >= t0 + 100s);  // 1000 tokens at 10 a second
}

TEST_CASE("request reader: without a flood limit nothing is ever owed", "[reader]") {
  RequestReader reader(1000, 0, 20, t0);
  CHECK(reader.feed(std::string(1'000'000, '\n'), t0).empty());
  CHECK(reader.read_again_at(t0) == t0);
}

TEST_CASE("request reader: lines refused by the flood limit spend the budget by their bytes", "[reader]") {
  // Each read ends in a complete line, so no read is free of requests: the
  // refused lines' bytes must still put the reader in debt.
  RequestReader reader(1000, 10, 2, t0);
  const std::string line = "{\"type\":\"say\",\"room\":\"r\",\"text\":\"" + std::string(900, 'a') + "\"}\n";
  std::string chunk;
  for (int i = 0; i < 10; ++i) chunk += line;
  auto items = reader.feed(chunk, t0);
  REQUIRE(items.size() == 10);
  CHECK(error_of(items[2]) == ErrorCode::rate_limited);
  // 8 refused lines of about 940 bytes: about 7.5 tokens owed, 0.75 s.
  CHECK(reader.read_again_at(t0) > t0 + 700ms);
  CHECK(reader.read_again_at(t0) < t0 + 800ms);
}
