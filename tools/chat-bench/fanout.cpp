// Fan-out: P publishers send into one room, N subscribers receive every
// message. Publishers either keep a window of messages in flight (acknowledged
// by subscriber 0) or offer a fixed rate; subscribers check each payload and
// time it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "corochat/use_tuple.hpp"
#include "load_client.hpp"
#include "histogram.hpp"
#include "payload.hpp"
#include "proc_stats.hpp"
#include "runs.hpp"
#include "tracker.hpp"

namespace corochat::bench {
namespace asio = boost::asio;
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds setup_timeout{10000};
// Messages per write at most: big enough to amortise the system call, small
// enough that one write never blocks the thread's other work for long.
constexpr std::size_t max_batch = 256;
// After the last send, how long the run waits for deliveries still on their way.
constexpr std::chrono::milliseconds drain_quiet{2000};
constexpr std::chrono::milliseconds drain_limit{10000};

std::uint64_t ns_of(Clock::time_point t) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

void log_spawn_error(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "chat-bench: %s\n", error.what());
  }
}

struct Publisher {
  explicit Publisher(asio::any_io_executor executor) : wake(executor) {}
  std::unique_ptr<LoadClient> connection;
  std::uint64_t sent = 0;
  std::uint64_t acked = 0;  // next seq subscriber 0 has not yet seen
  bool waiting = false;     // for acknowledgements, on `wake`
  asio::steady_timer wake;
  std::string replies;  // owed to the server (PONG), sent with the next batch
  std::string error;
};

struct Subscriber {
  explicit Subscriber(std::size_t publishers) : tracker(publishers) {}
  std::unique_ptr<LoadClient> connection;
  SubscriberTracker tracker;
  std::uint64_t last_room_seq = 0;
  std::string error;
};

class Fanout {
 public:
  explicit Fanout(const Options& options) : options_(options) {}

  Outcome run() {
    asio::co_spawn(io_, main(), log_spawn_error);
    io_.run();
    return report();
  }

 private:
  // ---- the run --------------------------------------------------------------
  asio::awaitable<void> main() {
    if (!co_await connect_all()) {
      close_all();
      co_return;
    }
    const std::size_t n_subscribers = subscribers_.size();
    for (std::size_t i = 0; i < n_subscribers; ++i)
      asio::co_spawn(io_, receive(i), log_spawn_error);
    for (std::size_t i = 0; i < publishers_.size(); ++i) asio::co_spawn(io_, drain_publisher(i), log_spawn_error);

    start_ = Clock::now();
    measure_from_ = start_ + to_duration(options_.warmup);
    measure_to_ = measure_from_ + to_duration(options_.duration);
    measure_from_ns_ = ns_of(measure_from_);
    measure_to_ns_ = ns_of(measure_to_);
    for (std::size_t i = 0; i < publishers_.size(); ++i) asio::co_spawn(io_, publish(i), log_spawn_error);

    asio::steady_timer timer(io_);
    timer.expires_at(measure_from_);
    co_await timer.async_wait(use_tuple);
    begin_ = take_sample();
    measuring_ = true;
    timer.expires_at(measure_to_);
    co_await timer.async_wait(use_tuple);
    measuring_ = false;
    end_ = take_sample();

    // Publishers stop at measure_to_; wait for what is still on its way,
    // until everything arrived or nothing more comes.
    std::uint64_t seen = 0;
    auto last_progress = Clock::now();
    const auto give_up = Clock::now() + drain_limit;
    while (unique_ < expected() && Clock::now() < give_up && Clock::now() - last_progress < drain_quiet) {
      if (unique_ != seen) {
        seen = unique_;
        last_progress = Clock::now();
      }
      timer.expires_after(std::chrono::milliseconds(5));
      co_await timer.async_wait(use_tuple);
    }
    finished_ = true;
    close_all();
  }

  static Clock::duration to_duration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  std::uint64_t expected() const { return sent_total() * subscribers_.size(); }
  std::uint64_t sent_total() const {
    std::uint64_t total = 0;
    for (const auto& p : publishers_) total += p->sent;
    return total;
  }

  // Subscribers first, all joined, then publishers: nothing is published
  // before every subscriber can receive it.
  asio::awaitable<bool> connect_all() {
    for (std::size_t i = 0; i < options_.subscribers; ++i) {
      auto s = std::make_unique<Subscriber>(options_.publishers);
      s->connection = std::make_unique<LoadClient>(
          io_.get_executor(),
          make_protocol(options_.protocol, nick("s", i), options_.room, Role::subscriber));
      subscribers_.push_back(std::move(s));
    }
    for (std::size_t i = 0; i < options_.publishers; ++i) {
      auto p = std::make_unique<Publisher>(io_.get_executor());
      p->connection = std::make_unique<LoadClient>(
          io_.get_executor(), make_protocol(options_.protocol, nick("p", i), options_.room, Role::publisher,
                                            options_.irc_oper));
      publishers_.push_back(std::move(p));
    }
    // Named, not built inside the co_await expression (GCC 12).
    auto subscriber_at = [this](std::size_t i) -> LoadClient& { return *subscribers_[i]->connection; };
    auto publisher_at = [this](std::size_t i) -> LoadClient& { return *publishers_[i]->connection; };
    co_await set_up(subscriber_at, subscribers_.size(), "s");
    if (!setup_error_.empty()) co_return false;
    co_await set_up(publisher_at, publishers_.size(), "p");
    co_return setup_error_.empty();
  }

  // Sets up `count` connections, options_.concurrency at a time.
  template <class ConnectionAt>
  asio::awaitable<void> set_up(ConnectionAt connection_at, std::size_t count, const char* kind) {
    std::size_t next = 0;
    std::size_t running = 0;
    asio::steady_timer done(io_, Clock::time_point::max());
    auto worker = [&]() -> asio::awaitable<void> {
      while (next < count && setup_error_.empty()) {
        const std::size_t i = next++;
        std::string error = co_await connect_and_join(connection_at(i), options_, setup_timeout);
        if (!error.empty() && setup_error_.empty()) setup_error_ = nick(kind, i) + ": " + error;
      }
      if (--running == 0) done.cancel();
    };
    const std::size_t workers = std::min(count, options_.concurrency);
    running = workers;
    for (std::size_t w = 0; w < workers; ++w) asio::co_spawn(io_, worker(), log_spawn_error);
    if (workers > 0) co_await done.async_wait(use_tuple);
  }

  std::string nick(const char* kind, std::size_t i) const { return options_.nick_prefix + kind + std::to_string(i); }

  void close_all() {
    for (auto& s : subscribers_) s->connection->close();
    for (auto& p : publishers_) {
      p->connection->close();
      p->wake.cancel();
    }
  }

  // ---- publishers -----------------------------------------------------------
  asio::awaitable<void> publish(std::size_t index) {
    Publisher& p = *publishers_[index];
    LoadClient& c = *p.connection;
    std::vector<char> payload(options_.payload);
    std::string batch;
    const std::string_view payload_view(payload.data(), payload.size());
    // Rate mode: message k of this publisher is due at first_due + k * interval,
    // and carries that time, not the time it left: a late send shows as latency.
    const double per_publisher = options_.rate / static_cast<double>(options_.publishers);
    const auto interval = per_publisher > 0 ? to_duration(1.0 / per_publisher) : Clock::duration::zero();
    const auto first_due = start_ + interval * static_cast<long>(index) / static_cast<long>(options_.publishers);

    while (!finished_ && c.socket().is_open()) {
      const auto now = Clock::now();
      batch = std::exchange(p.replies, {});
      if (options_.window > 0) {
        if (now >= measure_to_) break;
        const std::uint64_t in_flight = p.sent - p.acked;
        if (in_flight >= options_.window) {
          // Woken by subscriber 0's acknowledgements; the expiry only bounds a stall.
          p.waiting = true;
          p.wake.expires_after(std::chrono::milliseconds(100));
          co_await p.wake.async_wait(use_tuple);
          p.waiting = false;
          p.replies.insert(0, batch);
          continue;
        }
        const std::uint64_t n = std::min<std::uint64_t>(options_.window - in_flight, max_batch);
        const std::uint64_t send_ns = ns_of(now);
        for (std::uint64_t k = 0; k < n; ++k) {
          encode_payload(payload.data(), payload.size(),
                         PayloadHeader{static_cast<std::uint32_t>(index), p.sent + k, send_ns});
          c.protocol->append_publish(batch, payload_view);
        }
        p.sent += n;
      } else {
        // Every message due before the end is sent, even late: the count
        // sent is the rate times the duration.
        auto due = first_due + interval * static_cast<long>(p.sent);
        if (due >= measure_to_) break;
        if (due > now) {
          p.wake.expires_at(due);
          co_await p.wake.async_wait(use_tuple);
          p.replies.insert(0, batch);
          continue;
        }
        for (std::size_t k = 0; k < max_batch && due <= now && due < measure_to_; ++k) {
          encode_payload(payload.data(), payload.size(),
                         PayloadHeader{static_cast<std::uint32_t>(index), p.sent, ns_of(due)});
          c.protocol->append_publish(batch, payload_view);
          ++p.sent;
          due += interval;
        }
      }
      if (batch.empty()) continue;
      std::tuple<boost::system::error_code, std::size_t> written =
          co_await c.write(asio::buffer(batch));
      if (std::get<0>(written)) {
        if (!finished_ && p.error.empty()) p.error = "write: " + std::get<0>(written).message();
        break;
      }
    }
  }

  // What a publisher hears: nothing it needs, but the server's pings must be
  // answered, its refusals reported, and its echoes read so it never backs up.
  struct PublisherEvents final : Events {
    Publisher& p;
    explicit PublisherEvents(Publisher& publisher) : p(publisher) {}
    void reply(std::string_view bytes) override { p.replies += bytes; }
    void error(std::string_view what) override {
      if (p.error.empty()) p.error = std::string(what);
    }
  };

  asio::awaitable<void> drain_publisher(std::size_t index) {
    Publisher& p = *publishers_[index];
    LoadClient& c = *p.connection;
    c.input.resize(64 * 1024);
    PublisherEvents events(p);
    for (;;) {
      std::tuple<boost::system::error_code, std::size_t> read =
          co_await c.read_some(c.read_space());
      if (std::get<0>(read)) {
        if (!finished_ && p.error.empty()) p.error = "read: " + std::get<0>(read).message();
        co_return;
      }
      c.input_size += std::get<1>(read);
      c.quickack();
      c.parse_input(events);
    }
  }

  // ---- subscribers ----------------------------------------------------------
  struct SubscriberEvents final : Events {
    Fanout& run;
    Subscriber& s;
    bool acknowledges;        // subscriber 0 paces window-mode publishers
    std::uint64_t now_ns = 0;  // when the bytes being parsed were read
    std::string replies;
    SubscriberEvents(Fanout& fanout, Subscriber& subscriber, bool acks)
        : run(fanout), s(subscriber), acknowledges(acks) {}

    void delivery(std::string_view payload, std::uint64_t room_seq) override {
      if (room_seq != 0) {
        if (s.last_room_seq != 0 && room_seq != s.last_room_seq + 1) ++run.room_seq_errors_;
        s.last_room_seq = room_seq;
      }
      const auto header = decode_payload(payload, run.options_.payload);
      if (!header || header->publisher >= run.publishers_.size()) {
        ++run.corrupt_;
        return;
      }
      ++run.received_;
      if (run.measuring_) ++run.measured_deliveries_;
      const Arrival arrival = s.tracker.arrived(header->publisher, header->seq);
      if (arrival != Arrival::duplicate) ++run.unique_;
      if (header->send_ns >= run.measure_from_ns_ && header->send_ns < run.measure_to_ns_)
        run.latency_.record(now_ns > header->send_ns ? now_ns - header->send_ns : 0);
      if (acknowledges) {
        Publisher& p = *run.publishers_[header->publisher];
        p.acked = std::max(p.acked, header->seq + 1);
        if (p.waiting) {
          p.waiting = false;
          p.wake.cancel();
        }
      }
    }
    void reply(std::string_view bytes) override { replies += bytes; }
    void error(std::string_view what) override {
      if (s.error.empty()) s.error = std::string(what);
    }
  };

  asio::awaitable<void> receive(std::size_t index) {
    Subscriber& s = *subscribers_[index];
    LoadClient& c = *s.connection;
    // Big reads: one system call brings hundreds of deliveries.
    c.input.resize(std::max<std::size_t>(c.input.size(), 128 * 1024));
    SubscriberEvents events(*this, s, index == 0 && options_.window > 0);
    c.parse_input(events);  // whatever came with the join
    for (;;) {
      std::tuple<boost::system::error_code, std::size_t> read =
          co_await c.read_some(c.read_space());
      if (std::get<0>(read)) {
        if (!finished_ && s.error.empty()) s.error = "read: " + std::get<0>(read).message();
        co_return;
      }
      c.input_size += std::get<1>(read);
      events.now_ns = ns_of(Clock::now());
      c.quickack();
      c.parse_input(events);
      if (!events.replies.empty()) {
        const std::string replies = std::exchange(events.replies, {});
        std::tuple<boost::system::error_code, std::size_t> written =
            co_await c.write(asio::buffer(replies));
        if (std::get<0>(written)) co_return;
      }
    }
  }

  // ---- measuring and reporting ---------------------------------------------------
  struct Sample {
    Clock::time_point at;
    double own_cpu_s = 0;
    std::optional<ProcessSample> server;
    std::uint64_t deliveries = 0;
  };
  Sample take_sample() const {
    return Sample{Clock::now(), own_cpu_seconds(), sample_process(options_.server_pid), measured_deliveries_};
  }

  Outcome report() const {
    Outcome outcome;
    Report& r = outcome.report;
    r.add("mode", std::string("fanout"));
    r.add("proto", std::string(name_of(options_.protocol)));
    r.add("subscribers", std::uint64_t{options_.subscribers});
    r.add("publishers", std::uint64_t{options_.publishers});
    r.add("payload", std::uint64_t{options_.payload});
    if (options_.window > 0) r.add("window", std::uint64_t{options_.window});
    else r.add("rate", options_.rate);
    r.add("duration_s", options_.duration);
    r.add("warmup_s", options_.warmup);
    if (!setup_error_.empty()) {
      r.add("error", setup_error_);
      outcome.exit_status = 1;
      return outcome;
    }
    const std::uint64_t sent = sent_total();
    const std::uint64_t expected_deliveries = expected();
    const std::uint64_t lost = expected_deliveries > unique_ ? expected_deliveries - unique_ : 0;
    std::uint64_t duplicates = 0, late = 0;
    std::size_t closed = 0;
    std::string first_error;
    for (const auto& s : subscribers_) {
      duplicates += s->tracker.duplicates();
      late += s->tracker.late();
      if (!s->error.empty()) {
        ++closed;
        if (first_error.empty()) first_error = "subscriber: " + s->error;
      }
    }
    for (const auto& p : publishers_)
      if (!p->error.empty() && first_error.empty()) first_error = "publisher: " + p->error;

    const double interval = std::chrono::duration<double>(end_.at - begin_.at).count();
    const std::uint64_t measured = end_.deliveries - begin_.deliveries;
    r.add("sent", sent);
    r.add("deliveries", expected_deliveries);
    r.add("delivered", unique_);
    r.add("deliveries_per_s", interval > 0 ? static_cast<double>(measured) / interval : 0.0);
    r.add("lost", lost);
    r.add("duplicate", duplicates);
    r.add("out_of_order", late);
    r.add("corrupt", corrupt_);
    if (options_.protocol == ProtocolKind::corochat) r.add("room_seq_errors", room_seq_errors_);
    r.add("subscribers_failed", std::uint64_t{closed});
    auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
    r.add("latency_samples", latency_.count());
    r.add("latency_p50_us", us(latency_.percentile(50)));
    r.add("latency_p99_us", us(latency_.percentile(99)));
    r.add("latency_p999_us", us(latency_.percentile(99.9)));
    r.add("latency_max_us", us(latency_.max()));
    std::optional<double> server_cpu;
    std::optional<double> per_million;
    std::optional<std::uint64_t> server_rss;
    if (begin_.server && end_.server) {
      server_cpu = end_.server->cpu_s - begin_.server->cpu_s;
      server_rss = end_.server->rss_kb;
      if (measured > 0) per_million = *server_cpu / (static_cast<double>(measured) / 1e6);
    }
    r.add("server_cpu_s", server_cpu);
    r.add("server_cpu_s_per_m_deliveries", per_million);
    r.add("server_rss_kb", server_rss);
    const double own = end_.own_cpu_s - begin_.own_cpu_s;
    const double own_pct = interval > 0 ? 100.0 * own / interval : 0.0;
    r.add("bench_cpu_s", own);
    r.add("bench_cpu_pct", own_pct);
    r.add("measured_s", interval);
    if (!first_error.empty()) r.add("error", first_error);
    if (own_pct >= 90.0)
      r.warn("chat-bench used " + std::to_string(static_cast<int>(own_pct)) +
             "% of a core: it may be the bottleneck, not the server");
    if (options_.server_pid > 0 && !server_cpu) r.warn("could not read /proc for the server's PID");
    if (lost > 0 || duplicates > 0 || late > 0 || corrupt_ > 0 || room_seq_errors_ > 0 || closed > 0 ||
        !first_error.empty())
      outcome.exit_status = 1;
    return outcome;
  }

  const Options& options_;
  asio::io_context io_{1};
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
  std::vector<std::unique_ptr<Publisher>> publishers_;
  std::string setup_error_;

  Clock::time_point start_, measure_from_, measure_to_;
  std::uint64_t measure_from_ns_ = 0, measure_to_ns_ = 0;
  bool measuring_ = false;
  bool finished_ = false;
  Sample begin_, end_;

  Histogram latency_;
  std::uint64_t received_ = 0;  // every intact delivery, duplicates included
  std::uint64_t unique_ = 0;
  std::uint64_t measured_deliveries_ = 0;
  std::uint64_t corrupt_ = 0;
  std::uint64_t room_seq_errors_ = 0;
};

}  // namespace

Outcome run_fanout(const Options& options) { return Fanout(options).run(); }

}  // namespace corochat::bench
