// The few things a session needs from its stream beyond reading and writing.
// Overloads per stream type keep the session code the same for every transport.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace corochat::server::transport {

// Holds the context first, so that it is built before the stream that uses it
// and outlives it.
struct ContextHolder {
  std::shared_ptr<boost::asio::ssl::context> context;
};

// A TLS stream that keeps its own context alive: a certificate reload gives
// new connections a new context and leaves this one's in place.
class TlsStream : private ContextHolder, public boost::asio::ssl::stream<boost::asio::ip::tcp::socket> {
 public:
  TlsStream(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> context)
      : ContextHolder{std::move(context)},
        boost::asio::ssl::stream<boost::asio::ip::tcp::socket>(std::move(socket), *this->context) {}
  TlsStream(TlsStream&&) = default;
};

inline void close_now(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.close(ignored);
}

inline void close_now(boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& stream) {
  close_now(stream.next_layer());
}

// The last byte is written: tell the peer (TCP FIN), keep reading until it closes.
inline boost::asio::awaitable<void> finish_sending(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  co_return;
}

// TLS says it with close_notify, then waits for the peer's. The reader keeps
// reading meanwhile (Asio's TLS stream lets the two share the socket), and the
// session's close grace bounds the wait: a peer that never answers is closed.
inline boost::asio::awaitable<void> finish_sending(boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& stream) {
  co_await stream.async_shutdown(boost::asio::as_tuple(boost::asio::use_awaitable));
}

// End of input as the peer meant it. A TLS peer that closes TCP without
// close_notify (most clients that simply exit) ends its input too; nothing
// is lost by it, since a chat connection carries no length to truncate.
inline bool is_end_of_input(const boost::system::error_code& ec) {
  return ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated;
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

inline std::string peer_name(const boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& stream) {
  return peer_name(stream.next_layer());
}

}  // namespace corochat::server::transport
