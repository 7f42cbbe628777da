// The few things a connection needs from its socket beyond reading and
// writing, and the thread's shared buffers of the connection drivers.
#pragma once

#include <array>
#include <cerrno>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>

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

  // For the connection that takes over the session after the handshake.
  const std::shared_ptr<boost::asio::ssl::context>& shared_context() const { return context; }
};

inline void close_now(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.close(ignored);
}

// The last byte is written: tell the peer (TCP FIN), keep reading until it closes.
inline void shutdown_sending(boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
}

// Bytes written to the socket that the peer has not acknowledged yet (sent
// or still unsent): once it is zero after shutdown_sending, everything the
// server said has arrived, so a closing connection need not wait for the peer
// to close its end. An error counts as nothing left: the socket is done.
inline std::size_t unacknowledged_bytes(boost::asio::ip::tcp::socket& socket) {
  int outstanding = 0;
  if (::ioctl(socket.native_handle(), SIOCOUTQ, &outstanding) != 0) return 0;
  return outstanding > 0 ? static_cast<std::size_t>(outstanding) : 0;
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

// Sockets are read the reactor way: wait until bytes are there, then read
// them (plain TCP) or what they decrypt to (TLS) into one buffer shared by
// every connection on the thread, so an idle connection holds no read buffer.
// The thread's read buffer. Only valid until the reader next suspends: the
// framer copies out an unfinished line, and parsed requests own their strings.
inline std::span<char> thread_read_buffer() {
  static thread_local std::array<char, 64 * 1024> buffer;
  return buffer;
}

// Plain TCP sockets are written with one sendmsg of as many queued lines as
// IOV_MAX allows (Asio's own gathered writes stop at 64 buffers).
inline constexpr std::size_t max_write_lines = 1024;  // IOV_MAX on Linux

// The thread's iovec array for those writes; filled and used without suspending.
inline std::span<iovec, max_write_lines> thread_iovecs() {
  static thread_local std::array<iovec, max_write_lines> iovecs;
  return iovecs;
}

// One non-blocking sendmsg; the bytes sent, or the error (would_block when
// the socket buffer is full).
inline std::size_t send_lines(boost::asio::ip::tcp::socket& socket, std::span<const iovec> lines,
                              boost::system::error_code& ec) {
  msghdr message{};
  message.msg_iov = const_cast<iovec*>(lines.data());
  message.msg_iovlen = lines.size();
  for (;;) {
    const ssize_t sent = ::sendmsg(socket.native_handle(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent >= 0) {
      ec.clear();
      return static_cast<std::size_t>(sent);
    }
    if (errno == EINTR) continue;
    ec = boost::system::error_code(errno == EWOULDBLOCK ? EAGAIN : errno, boost::asio::error::get_system_category());
    return 0;
  }
}

inline std::string peer_name(const boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& stream) {
  return peer_name(stream.next_layer());
}

}  // namespace corochat::server::transport
