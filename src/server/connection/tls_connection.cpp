#include "server/connection/tls_connection.hpp"

#include <array>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>

#include "corochat/use_tuple.hpp"
#include "server/log.hpp"

namespace corochat::server {

namespace {

// The writers' chunks come from a small pool per thread rather than from
// malloc each time: a 16 KiB block freed after every burst made glibc trim
// the heap and grow it again, with a page fault per page, on every burst.
// An idle connection still holds none.
class ChunkPool {
 public:
  static std::unique_ptr<char[]> take() {
    auto& spare = chunks();
    if (spare.empty()) return std::make_unique_for_overwrite<char[]>(TlsConnection::record_bytes);
    std::unique_ptr<char[]> chunk = std::move(spare.back());
    spare.pop_back();
    return chunk;
  }
  static void give_back(std::unique_ptr<char[]>& chunk) {
    if (!chunk) return;
    auto& spare = chunks();
    if (spare.size() < max_spare) spare.push_back(std::move(chunk));
    chunk.reset();
  }

 private:
  static constexpr std::size_t max_spare = 64;  // 1 MiB per thread at most
  static std::vector<std::unique_ptr<char[]>>& chunks() {
    static thread_local std::vector<std::unique_ptr<char[]>> spare;
    return spare;
  }
};

}  // namespace

TlsConnection::TlsConnection(transport::TlsStream stream, ClientId id, Inbox& inbox, const ConnectionLimits& limits,
                             AdmissionTicket admission)
    : ConnectionCore(stream.get_executor(), id, transport::peer_name(stream), inbox, limits, std::move(admission)),
      stream_(std::move(stream)),
      wake_writer_(stream_.get_executor(), Clock::time_point::max()),
      wake_reader_(stream_.get_executor(), Clock::time_point::max()) {}

std::shared_ptr<ConnectionCore> make_connection(transport::TlsStream stream, ClientId id, Inbox& inbox,
                                                const ConnectionLimits& limits, AdmissionTicket admission) {
  return std::make_shared<TlsConnection>(std::move(stream), id, inbox, limits, std::move(admission));
}

void TlsConnection::start() {
  auto self = this->self<TlsConnection>();
  asio::co_spawn(stream_.get_executor(), [self] { return self->read_loop(); }, log_failure("TLS reader"));
  asio::co_spawn(stream_.get_executor(), [self] { return self->write_loop(); }, log_failure("TLS writer"));
  arm_watchdog();
}

void TlsConnection::wake_writer() {
  if (writer_waiting_) wake_writer_.cancel();
}

void TlsConnection::wake_reader() {
  if (reader_waiting_) wake_reader_.cancel();
}

asio::awaitable<void> TlsConnection::wait_to_read() {
  reader_waiting_ = true;
  co_await wake_reader_.async_wait(use_tuple);
  reader_waiting_ = false;
}

asio::awaitable<void> TlsConnection::read_loop() {
  std::array<char, 4096> buffer;
  boost::system::error_code ended;
  for (;;) {
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buffer), use_tuple);
    if (ec) {
      ended = ec;
      break;
    }
    ReadStep step = read({buffer.data(), n});
    if (step.kind == ReadStep::Kind::post_batch) {
      co_await post_batch(std::move(step.batch), use_tuple);
      // One batch in flight; and a client that sends faster than it reads
      // its replies is not read on until its queue is back under half.
      while (!may_read_on()) co_await wait_to_read();
      step = after_batch();
    }
    if (throttle_reader(step))
      while (reader_throttled()) co_await wait_to_read();
  }
  // The writer's last act waits for the peer's close_notify: there is none
  // to wait for any more.
  if (finishing_) close_transport();
  reader_finished(ended);
}

asio::awaitable<void> TlsConnection::write_loop() {
  while (!ending_.stream_closed()) {
    if (queue_.empty()) {
      ChunkPool::give_back(chunk_);
      if (ending_.closing()) {
        if (ending_.input_done()) break;  // the peer is gone: closing says the rest
        finishing_ = true;
        co_await transport::finish_sending(stream_);
        break;
      }
      writer_waiting_ = true;
      co_await wake_writer_.async_wait(use_tuple);
      writer_waiting_ = false;
      continue;
    }
    if (!chunk_) chunk_ = ChunkPool::take();
    const std::size_t bytes = queue_.copy_front({chunk_.get(), record_bytes});
    auto [ec, sent] = co_await asio::async_write(stream_, asio::buffer(chunk_.get(), bytes), use_tuple);
    if (ec) {
      close_transport();
      break;
    }
    written(sent);
  }
  ChunkPool::give_back(chunk_);
  writer_finished();
}

}  // namespace corochat::server
