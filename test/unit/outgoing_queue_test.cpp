#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <string>

#include "server/connection/outgoing_queue.hpp"

using corochat::server::OutgoingQueue;
using corochat::server::SharedLine;

namespace {

SharedLine line_of(std::size_t size, char fill = 'x') { return std::make_shared<const std::string>(size, fill); }

std::string text(const iovec& v) { return std::string(static_cast<const char*>(v.iov_base), v.iov_len); }

}  // namespace

TEST_CASE("outgoing queue: a line is refused only when it would pass the bound of a non-empty queue", "[queue]") {
  OutgoingQueue queue(100);
  CHECK(queue.push(line_of(150)));  // larger than the bound, but the queue was empty
  CHECK_FALSE(queue.push(line_of(1)));
  queue.consume(150);
  CHECK(queue.empty());
  CHECK(queue.push(line_of(60)));
  CHECK(queue.push(line_of(40)));  // exactly the bound
  CHECK_FALSE(queue.push(line_of(1)));
  CHECK(queue.bytes() == 100);
}

TEST_CASE("outgoing queue: gather takes lines from where the last write stopped", "[queue]") {
  OutgoingQueue queue(1000);
  queue.push(std::make_shared<const std::string>("hello\n"));
  queue.push(std::make_shared<const std::string>("world\n"));
  queue.push(std::make_shared<const std::string>("again\n"));
  queue.consume(3);  // "hel" written
  std::array<iovec, 2> iovecs{};
  REQUIRE(queue.gather(iovecs) == 2);  // stops when the array is full
  CHECK(text(iovecs[0]) == "lo\n");
  CHECK(text(iovecs[1]) == "world\n");
  CHECK(queue.bytes() == 15);
  queue.consume(3 + 6 + 2);  // the rest of hello, world, and "ag"
  REQUIRE(queue.gather(iovecs) == 1);
  CHECK(text(iovecs[0]) == "ain\n");
}

TEST_CASE("outgoing queue: gathered const_buffers stop at the line or byte limit", "[queue]") {
  OutgoingQueue queue(1 << 20);
  for (int i = 0; i < 100; ++i) queue.push(line_of(10));
  std::array<boost::asio::const_buffer, OutgoingQueue::max_gathered_lines> buffers;
  CHECK(queue.gather(buffers) == OutgoingQueue::max_gathered_lines);
  CHECK(queue.gather(buffers, 25) == 3);  // 10, 20, then 30 >= 25: stop
  queue.consume(queue.bytes());
  queue.push(line_of(OutgoingQueue::max_gathered_bytes + 1));
  queue.push(line_of(10));
  CHECK(queue.gather(buffers) == 1);
}

TEST_CASE("outgoing queue: copy_front fills one chunk across lines and a partial write", "[queue]") {
  OutgoingQueue queue(1000);
  queue.push(std::make_shared<const std::string>("abc\n"));
  queue.push(std::make_shared<const std::string>("defg\n"));
  queue.push(std::make_shared<const std::string>("hi\n"));
  queue.consume(2);
  std::array<char, 6> chunk{};
  REQUIRE(queue.copy_front(chunk) == 6);
  CHECK(std::string(chunk.data(), 6) == "c\ndefg");
  queue.consume(6);
  std::array<char, 64> big{};
  REQUIRE(queue.copy_front(big) == 4);
  CHECK(std::string(big.data(), 4) == "\nhi\n");
  queue.consume(4);
  CHECK(queue.empty());
  CHECK(queue.copy_front(big) == 0);
}

TEST_CASE("outgoing queue: consume says once that the queue came down to half", "[queue]") {
  OutgoingQueue queue(100);
  for (int i = 0; i < 8; ++i) queue.push(line_of(10));
  CHECK_FALSE(queue.at_most_half_full());
  CHECK_FALSE(queue.consume(20));  // 60: still over half
  CHECK(queue.consume(10));        // 50: at most half now
  CHECK(queue.at_most_half_full());
  CHECK_FALSE(queue.consume(10));  // was at most half already
  queue.push(line_of(10));
  queue.push(line_of(10));  // 60
  CHECK(queue.consume(35));  // partial lines count by their bytes: 25
}

TEST_CASE("outgoing queue: an empty queue holds no memory and the next burst reserves the last one's size", "[queue]") {
  OutgoingQueue queue(1 << 20);
  CHECK(queue.capacity() == 0);
  for (int i = 0; i < 100; ++i) queue.push(line_of(1));
  const std::size_t grown = queue.capacity();
  CHECK(grown >= 100);
  queue.consume(100);
  CHECK(queue.empty());
  CHECK(queue.capacity() == 0);  // freed, not kept
  queue.push(line_of(1));
  CHECK(queue.capacity() == grown);  // one allocation of the last burst's size
  queue.release();
  CHECK(queue.capacity() == 0);
  CHECK(queue.bytes() == 0);
}

TEST_CASE("outgoing queue: the capacity hint is capped and written lines are let go", "[queue]") {
  OutgoingQueue queue(1 << 30);
  for (int i = 0; i < 5000; ++i) queue.push(line_of(1));
  queue.consume(5000);
  queue.push(line_of(1));
  CHECK(queue.capacity() == OutgoingQueue::max_gathered_lines * 16);
  queue.consume(1);

  auto shared = line_of(5);
  queue.push(shared);
  queue.push(line_of(5));
  CHECK(shared.use_count() == 2);
  queue.consume(5);
  CHECK(shared.use_count() == 1);  // the queue no longer holds the written line
}
