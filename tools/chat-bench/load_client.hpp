// A load client: one bench connection, made of a socket from the client
// library, a protocol adapter, and the bytes read but not yet parsed.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "corochat/client.hpp"
#include "options.hpp"
#include "protocols.hpp"

namespace corochat::bench {

struct LoadClient {
  LoadClient(boost::asio::any_io_executor executor, std::unique_ptr<Protocol> protocol)
      : client(std::move(executor)), protocol(std::move(protocol)) {}

  // The TCP socket: the client's, or under TLS the one the TLS stream took over.
  boost::asio::ip::tcp::socket& socket() { return tls ? tls->next_layer() : client.socket(); }
  // Whole buffers out and some bytes in, over TLS when the connection has it.
  boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> write(boost::asio::const_buffer bytes);
  boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some(boost::asio::mutable_buffer space);
  std::string_view unparsed() const { return {input.data(), input_size}; }
  // Parses what was read: hands complete frames to `events`, keeps the rest.
  void parse_input(Events& events);
  // Room for the next read, growing the buffer when a frame fills it.
  boost::asio::mutable_buffer read_space();
  // Closes the socket, under TLS too (no close_notify: the run is over).
  void close() {
    boost::system::error_code ignored;
    socket().close(ignored);
  }
  // Acknowledges received data at once (for peers that leave Nagle on).
  void quickack();

  client::Client client;  // connects; under TLS its socket moves into `tls`
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls;
  std::unique_ptr<Protocol> protocol;
  std::vector<char> input = std::vector<char>(4096);
  std::size_t input_size = 0;
  bool use_quickack = false;
};

// Connects, registers (as the protocol's nick) and joins the connection's room, within
// `timeout`. Returns an empty string on success, else what went wrong.
// Bytes read past the join stay in `input`.
boost::asio::awaitable<std::string> connect_and_join(LoadClient& connection, const Options& options,
                                                     std::chrono::milliseconds timeout);

}  // namespace corochat::bench
