#include "runner.hpp"

#include <deque>
#include <map>
#include <memory>
#include <sstream>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include "corochat/client.hpp"
#include "matcher.hpp"

namespace corochat::replay {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t kept_lines = 5;

struct ScriptedClient {
  std::unique_ptr<client::Client> connection;
  std::deque<std::string> recent;  // the last lines received, for reports
};

class Runner {
 public:
  Runner(const Scenario& scenario, const RunOptions& options, asio::any_io_executor executor)
      : scenario_(scenario), options_(options), executor_(std::move(executor)) {}

  asio::awaitable<bool> run_steps(const std::vector<Step>& steps) {
    for (const Step& step : steps) {
      if (step.kind == Step::Kind::repeat) {
        const auto saved = variables_.find(step.variable) != variables_.end()
                               ? std::optional<std::string>(variables_[step.variable])
                               : std::nullopt;
        for (int i = 1; i <= step.count; ++i) {
          variables_[step.variable] = std::to_string(i);
          if (!co_await run_steps(step.body)) co_return false;
        }
        if (saved) variables_[step.variable] = *saved;
        else variables_.erase(step.variable);
        continue;
      }
      if (!co_await run_step(step)) co_return false;
    }
    co_return true;
  }

  std::string report() const { return report_; }

 private:
  asio::awaitable<bool> run_step(const Step& step) {
    using K = Step::Kind;
    switch (step.kind) {
      case K::wait:
        co_await sleep(step.duration);
        co_return true;
      case K::pause:
        if (options_.real_time) co_await sleep(step.duration);
        co_return true;
      case K::connect: {
        if (clients_.contains(step.client)) co_return fail(step, step.client + " is already connected");
        auto& c = clients_[step.client];
        c.connection = std::make_unique<client::Client>(executor_);
        c.connection->set_tls(options_.tls);
        auto ec = co_await c.connection->connect(options_.host, options_.port);
        if (ec) co_return fail(step, "cannot connect to " + options_.host + ":" + options_.port + ": " + ec.message());
        co_return true;
      }
      default: break;
    }
    auto it = clients_.find(step.client);
    if (it == clients_.end()) co_return fail(step, step.client + " is not connected (add: " + step.client + " connect)");
    ScriptedClient& client = it->second;
    switch (step.kind) {
      case K::send: {
        std::string unknown;
        auto line = substitute(step.payload, variables_, &unknown);
        if (!line) co_return fail(step, "unknown variable ${" + unknown + "}");
        trace(step.client, '>', *line);
        line->push_back('\n');
        auto ec = co_await client.connection->send_raw(std::move(*line));
        if (ec) co_return fail(step, "send failed: " + ec.message());
        co_return true;
      }
      case K::send_raw: {
        trace(step.client, '>', step.payload);
        auto ec = co_await client.connection->send_raw(step.payload);
        if (ec) co_return fail(step, "send failed: " + ec.message());
        co_return true;
      }
      case K::close:
      case K::abort:
        if (step.kind == K::abort) {
          // SO_LINGER 0: the peer sees a reset, as when a machine vanishes.
          boost::system::error_code ignored;
          client.connection->socket().set_option(asio::socket_base::linger(true, 0), ignored);
        }
        client.connection->close();
        clients_.erase(it);
        co_return true;
      case K::silence: {
        client::Event e = co_await client.connection->next(step.duration);
        if (e.ec == asio::error::timed_out) co_return true;
        remember(step.client, client, e);
        co_return fail(step, "nothing for " + std::to_string(step.duration.count()) + " ms",
                       describe(e));
      }
      case K::expect: co_return co_await expect(step, client);
      case K::expect_close: co_return co_await expect_close(step, client);
      default: co_return true;
    }
  }

  asio::awaitable<bool> expect(const Step& step, ScriptedClient& client) {
    std::string unknown;
    auto text = substitute(step.payload, variables_, &unknown);
    if (!text) co_return fail(step, "unknown variable ${" + unknown + "}");
    boost::system::error_code parse_error;
    const json::value wanted = json::parse(*text, parse_error);
    if (parse_error) co_return fail(step, "after substitution this is not JSON: " + *text);

    const Millis timeout = step.within.value_or(scenario_.timeout);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      client::Event e = co_await client.connection->next(remaining(deadline));
      if (e.ec == asio::error::timed_out)
        co_return fail(step, *text, "nothing matching within " + std::to_string(timeout.count()) + " ms");
      if (!e.line.empty()) remember(step.client, client, e);
      if (!e.ec && matches(wanted, e.value)) {
        for (const auto& key : step.absent)
          if (e.value.contains(key)) co_return fail(step, *text + " without \"" + key + "\"", e.line);
        for (const auto& [variable, path] : step.captures) {
          const json::value event = e.value;
          const json::value* found = find_path(event, path);
          if (!found) co_return fail(step, "the event has no '" + path + "' to capture", e.line);
          variables_[variable] = capture_text(*found);
        }
        co_return true;
      }
      if (!e.line.empty() && skipped(step, e)) continue;
      co_return fail(step, *text, describe(e));
    }
  }

  asio::awaitable<bool> expect_close(const Step& step, ScriptedClient& client) {
    const Millis timeout = step.within.value_or(scenario_.timeout);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      client::Event e = co_await client.connection->next(remaining(deadline));
      if (e.ec == asio::error::timed_out)
        co_return fail(step, "the server closes the connection",
                       "still open after " + std::to_string(timeout.count()) + " ms");
      if (e.line.empty() && e.ec) {
        trace(step.client, '<', "(closed: " + e.ec.message() + ")");
        clients_.erase(step.client);
        co_return true;
      }
      remember(step.client, client, e);
      if (!skipped(step, e)) co_return fail(step, "the server closes the connection", describe(e));
    }
  }

  static bool skipped(const Step& step, const client::Event& e) {
    if (step.skip_all) return true;
    for (const auto& type : step.skip)
      if (e.type() == type) return true;
    return false;
  }

  static std::string describe(const client::Event& e) {
    if (!e.line.empty()) return e.line;
    if (e.ec == asio::error::eof) return "the connection closed";
    return "connection error: " + e.ec.message();
  }

  void remember(const std::string& name, ScriptedClient& client, const client::Event& e) {
    trace(name, '<', e.line);
    client.recent.push_back(e.line);
    if (client.recent.size() > kept_lines) client.recent.pop_front();
  }

  void trace(const std::string& name, char direction, const std::string& line) {
    if (!options_.traffic) return;
    std::string_view text = line;
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    *options_.traffic << "  " << name << ' ' << direction << ' ' << text << '\n';
  }

  bool fail(const Step& step, const std::string& expected, const std::string& got = {}) {
    std::ostringstream out;
    out << "FAIL " << scenario_.file << ":" << step.line << ": " << step.source << '\n';
    out << "  expected: " << expected << '\n';
    if (!got.empty()) out << "  got:      " << got << '\n';
    out << "  last lines received:\n";
    for (const auto& [name, c] : clients_) {
      out << "    " << name << ":" << (c.recent.empty() ? " (nothing)" : "") << '\n';
      for (const auto& line : c.recent) out << "      " << line << '\n';
    }
    for (const auto& [name, value] : variables_) out << "  ${" << name << "} = " << value << '\n';
    report_ = out.str();
    return false;
  }

  asio::awaitable<void> sleep(Millis d) {
    asio::steady_timer timer(executor_, d);
    co_await timer.async_wait(asio::use_awaitable);
  }

  static Millis remaining(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    return std::max(left, Millis(0));
  }

  const Scenario& scenario_;
  const RunOptions& options_;
  asio::any_io_executor executor_;
  std::map<std::string, ScriptedClient> clients_;
  Variables variables_;
  std::string report_;
};

}  // namespace

asio::awaitable<RunResult> run_scenario(const Scenario& scenario, const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Runner runner(scenario, options, co_await asio::this_coro::executor);
  RunResult result;
  result.passed = co_await runner.run_steps(scenario.steps);
  result.report = runner.report();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  co_return result;
}

}  // namespace corochat::replay
