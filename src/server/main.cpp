// chatd: the chat server.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <random>

#include <boost/asio/io_context.hpp>

#include "cli/command_line.hpp"
#include "server/descriptors.hpp"
#include "server/log.hpp"
#include "server/options.hpp"
#include "server/server.hpp"
#include "server/service.hpp"
#include "server/store/sqlite_history_store.hpp"

#ifndef COROCHAT_VERSION
#define COROCHAT_VERSION "0.0.0"
#endif

namespace {

// `chatd --export-history ROOM`: the room's stored message lines, oldest
// first, on stdout. A running chatd may keep writing meanwhile (WAL).
int export_history(const corochat::server::StoreConfig& config) {
  using namespace corochat::server;
  if (config.kind == StoreKind::memory) {
    std::cerr << "chatd: --export-history reads the sqlite store: not with --store memory\n";
    return 2;
  }
  try {
    store::SqliteStoreOptions options;
    options.data_dir = config.data_dir;
    options.retention = config.retention;
    store::SqliteHistoryStore history(std::move(options));
    const std::error_code ec = history.export_room(config.export_room, [](const store::HistoryEntry& entry) {
      std::fwrite(entry.line->data(), 1, entry.line->size(), stdout);
    });
    std::fflush(stdout);
    history.close();
    if (ec) {
      std::cerr << "chatd: exporting " << config.export_room << ": " << ec.message() << '\n';
      return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "chatd: " << e.what() << '\n';
    return corochat::cli::exit_runtime;
  }
  return corochat::cli::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace corochat::server;
  CommandLine cl = parse_command_line(argc, argv);
  if (!cl.error.empty()) {
    std::cerr << "chatd: " << cl.error << '\n' << cl.hint << '\n';
    return corochat::cli::exit_usage;
  }
  if (!cl.output.empty()) {
    std::cout << cl.output;
    return corochat::cli::exit_ok;
  }
  if (cl.print_config) {
    std::cout << print_config(cl.config);
    return corochat::cli::exit_ok;
  }
  const ServerConfig as_read = cl.config;
  log::set_level(cl.config.log_level);
  log::detect_journal();
  if (!cl.config.store.export_room.empty()) return export_history(cl.config.store);
  std::signal(SIGPIPE, SIG_IGN);

  // One descriptor per connection: take all the system allows, and keep the
  // limits within it, so that no peer is left unanswered by a failing accept.
  // Set aside beyond those open now: the event loop's and the signals' (5),
  // the listeners (2), the spare (1), and a margin for files opened later
  // (certificate reloads, the random device).
  {
    const std::size_t limit = descriptors::raise_limit();
    const std::size_t reserved = descriptors::in_use() + 5 + 2 + 1 + 16;
    const std::size_t wanted = cl.config.state.max_clients;
    const auto budget = descriptors::fit(limit, reserved, wanted, cl.config.max_refusing);
    if (budget.max_clients < wanted)
      log::warn("max_clients lowered from ", wanted, " to ", budget.max_clients, ": the descriptor limit is ", limit,
                " (RLIMIT_NOFILE; raise it with ulimit -n, or LimitNOFILE= under systemd)");
    cl.config.state.max_clients = budget.max_clients;
    cl.config.max_refusing = budget.max_refusing;
  }

  cl.config.state.server_name = "chatd/" COROCHAT_VERSION;
  cl.config.state.epoch = [] {
    std::random_device source;
    char text[17];
    std::snprintf(text, sizeof text, "%08x%08x", source(), source());
    return std::string(text);
  }();

  try {
    boost::asio::io_context io(1);
    Server server(io, cl.config);
    server.reload_with(as_read, [file = cl.config_file, given = cl.given] { return load_configuration(file, given); });
    server.start();
    for (const auto& endpoint : server.local_endpoints()) {
      // Always printed: scripts and tests read the port from this line.
      std::fprintf(stderr, "chatd: listening on %s port %u\n", endpoint.address().to_string().c_str(),
                   static_cast<unsigned>(endpoint.port()));
    }
    for (const auto& endpoint : server.tls_endpoints()) {
      std::fprintf(stderr, "chatd: listening on %s port %u (TLS)\n", endpoint.address().to_string().c_str(),
                   static_cast<unsigned>(endpoint.port()));
    }
    if (const auto metrics = server.metrics_endpoint())
      std::fprintf(stderr, "chatd: metrics on %s port %u\n", metrics->address().to_string().c_str(),
                   static_cast<unsigned>(metrics->port()));
    std::fflush(stderr);
    service::ready();
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "chatd: " << e.what() << '\n';
    return corochat::cli::exit_runtime;
  }
  return corochat::cli::exit_ok;
}
