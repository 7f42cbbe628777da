// chatd: the chat server.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <random>

#include <boost/asio/io_context.hpp>

#include "server/log.hpp"
#include "server/options.hpp"
#include "server/server.hpp"

#ifndef COROCHAT_VERSION
#define COROCHAT_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  using namespace corochat::server;
  CommandLine cl = parse_command_line(argc, argv);
  if (!cl.error.empty()) {
    std::cerr << "chatd: " << cl.error << "\n(chatd --help lists the options)\n";
    return 2;
  }
  if (cl.help) {
    std::cout << usage();
    return 0;
  }
  if (cl.version) {
    std::cout << "chatd " COROCHAT_VERSION " (protocol 1)\n";
    return 0;
  }
  log::set_level(cl.options.log_level);
  std::signal(SIGPIPE, SIG_IGN);

  cl.options.state.server_name = "chatd/" COROCHAT_VERSION;
  cl.options.state.epoch = [] {
    std::random_device source;
    char text[17];
    std::snprintf(text, sizeof text, "%08x%08x", source(), source());
    return std::string(text);
  }();

  try {
    boost::asio::io_context io(1);
    Server server(io, cl.options);
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
    std::fflush(stderr);
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "chatd: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
