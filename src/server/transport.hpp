// The few things a session needs from its stream beyond reading and writing.
// Overloads per stream type keep the session code the same for every transport.
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace corochat::server::transport {

inline void close_now(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.close(ignored);
}

// The last byte is written: tell the peer (TCP FIN), keep reading until it closes.
inline void finish_sending(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
}

inline std::string peer_name(const boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  auto address = ep.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

}  // namespace corochat::server::transport
