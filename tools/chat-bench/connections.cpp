// idle and connect: C connections, each registered and joined to room
// i / room_size, set up `concurrency` at a time. idle then holds them and
// samples the server's memory; connect reports how fast they came up.
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "corochat/use_tuple.hpp"
#include "load_client.hpp"
#include "proc_stats.hpp"
#include "runs.hpp"

namespace corochat::bench {
namespace asio = boost::asio;
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds setup_timeout{30000};

class Connections {
 public:
  explicit Connections(const Options& options) : options_(options) {}

  Outcome run() {
    asio::co_spawn(io_, main(), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io_.run();
    return report();
  }

 private:
  asio::awaitable<void> main() {
    before_ = sample_process(options_.server_pid);
    const double own_before = own_cpu_seconds();
    const auto start = Clock::now();

    connections_.resize(options_.connections);
    std::size_t next = 0;
    std::size_t running = std::min(options_.connections, options_.concurrency);
    asio::steady_timer done(io_, Clock::time_point::max());
    auto worker = [&]() -> asio::awaitable<void> {
      while (next < options_.connections) {
        const std::size_t i = next++;
        const std::string room = "r" + std::to_string(i / options_.room_size);
        auto c = std::make_unique<LoadClient>(
            io_.get_executor(),
            make_protocol(options_.protocol, options_.nick_prefix + "i" + std::to_string(i), room, Role::subscriber));
        std::string error = co_await connect_and_join(*c, options_, setup_timeout);
        if (!error.empty()) {
          if (errors_++ == 0) first_error_ = "connection " + std::to_string(i) + ": " + error;
          c->close();
          continue;
        }
        // Held open and no longer read: what the server says next to an idle
        // member (others' joins) fits in the socket buffers.
        c->input = {};
        connections_[i] = std::move(c);
      }
      if (--running == 0) done.cancel();
    };
    const std::size_t workers = running;
    for (std::size_t w = 0; w < workers; ++w)
      asio::co_spawn(io_, worker(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
    co_await done.async_wait(use_tuple);
    connect_s_ = std::chrono::duration<double>(Clock::now() - start).count();
    own_cpu_s_ = own_cpu_seconds() - own_before;

    if (options_.mode == Mode::idle && options_.hold > 0) {
      // Let the server finish writing the last joins before its memory is read.
      asio::steady_timer hold(io_);
      hold.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options_.hold)));
      co_await hold.async_wait(use_tuple);
    }
    after_ = sample_process(options_.server_pid);
    for (auto& c : connections_)
      if (c) c->close();
  }

  Outcome report() const {
    Outcome outcome;
    Report& r = outcome.report;
    const bool idle = options_.mode == Mode::idle;
    const std::uint64_t connected = options_.connections - errors_;
    r.add("mode", std::string(idle ? "idle" : "connect"));
    r.add("proto", std::string(name_of(options_.protocol)));
    r.add("connections", std::uint64_t{options_.connections});
    r.add("room_size", std::uint64_t{options_.room_size});
    r.add("connected", connected);
    r.add("errors", errors_);
    r.add("connect_all_s", connect_s_);
    r.add("connections_per_s", connect_s_ > 0 ? static_cast<double>(connected) / connect_s_ : 0.0);
    std::optional<std::uint64_t> rss_before, rss_after;
    std::optional<double> per_connection, server_cpu;
    if (before_) rss_before = before_->rss_kb;
    if (after_) rss_after = after_->rss_kb;
    if (before_ && after_) {
      server_cpu = after_->cpu_s - before_->cpu_s;
      if (connected > 0)
        per_connection = (static_cast<double>(after_->rss_kb) - static_cast<double>(before_->rss_kb)) /
                         static_cast<double>(connected);
    }
    r.add("server_rss_kb_before", rss_before);
    r.add("server_rss_kb_after", rss_after);
    if (idle) r.add("rss_per_conn_kb", per_connection);
    r.add("server_cpu_s", server_cpu);
    r.add("bench_cpu_s", own_cpu_s_);
    r.add("bench_cpu_pct", connect_s_ > 0 ? 100.0 * own_cpu_s_ / connect_s_ : 0.0);
    if (!first_error_.empty()) r.add("error", first_error_);
    if (connect_s_ > 0 && own_cpu_s_ / connect_s_ >= 0.9)
      r.warn("chat-bench used " + std::to_string(static_cast<int>(100 * own_cpu_s_ / connect_s_)) +
             "% of a core: it may be the bottleneck, not the server");
    if (options_.server_pid > 0 && !(before_ && after_)) r.warn("could not read /proc for the server's PID");
    if (errors_ > 0) outcome.exit_status = 1;
    return outcome;
  }

  const Options& options_;
  asio::io_context io_{1};
  std::vector<std::unique_ptr<LoadClient>> connections_;
  std::uint64_t errors_ = 0;
  std::string first_error_;
  double connect_s_ = 0;
  double own_cpu_s_ = 0;
  std::optional<ProcessSample> before_, after_;
};

}  // namespace

Outcome run_connections(const Options& options) { return Connections(options).run(); }

}  // namespace corochat::bench
