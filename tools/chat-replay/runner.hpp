// Runs one scenario against a server with the coroutine client library.
#pragma once

#include <ostream>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "corochat/client.hpp"
#include "scenario.hpp"

namespace corochat::replay {

struct RunOptions {
  std::string host = "127.0.0.1";
  std::string port = "7000";
  client::TlsOptions tls;                  // --tls, --ca, --insecure
  bool real_time = false;          // honour `pause` steps
  std::ostream* traffic = nullptr;  // --verbose: every line sent and received
};

struct RunResult {
  bool passed = false;
  std::string report;  // on failure: the step, what was expected, what came, recent lines
  double seconds = 0;
};

boost::asio::awaitable<RunResult> run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace corochat::replay
