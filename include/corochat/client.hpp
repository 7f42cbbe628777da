// The coroutine client library: connect, register, send typed requests and
// co_await the next event, each with a timeout. Used by the tools and tests.
//
// At most one coroutine sends at a time and at most one waits for events at a
// time; one of each may run concurrently (a reader loop beside a sender).
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include "corochat/client/millis.hpp"
#include "corochat/protocol/codes.hpp"
#include "corochat/protocol/event_type.hpp"
#include "corochat/protocol/framer.hpp"

namespace boost::asio::ssl {
class context;
}

namespace corochat::client {

// One line from the server. `ec` is set instead when none came: timed_out,
// eof (the server closed), or another transport error; or when the line is
// not a JSON object (`line` then holds it as received).
struct Event {
  boost::system::error_code ec;
  boost::json::object value;
  std::string line;

  explicit operator bool() const { return !ec; }
  // The `type` as sent, for matching against text; empty when it is missing.
  std::string_view type() const;
  // The type to decide on: unknown for a type protocol 1 does not have.
  protocol::EventType kind() const;
  // For an `error` event, its `code`: nullopt for any other event, and for a
  // code protocol 1 does not have.
  std::optional<protocol::ErrorCode> code() const;
  // The same code in the "corochat" category, comparable with
  // protocol::ErrorCode values; empty when code() is nullopt.
  boost::system::error_code error_code() const;
};

// TLS for the next connect. The same protocol runs inside it.
struct TlsOptions {
  bool enabled = false;
  std::string ca_file;      // PEM certificates to trust; empty: the system's trust store
  bool insecure = false;    // verify nothing: anyone on the path can pose as the server
  std::string server_name;  // the name the certificate must carry (also sent as SNI); empty: connect's host
};

// A certificate that failed verification: the value is OpenSSL's X509_V_ERR_*
// code (X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT...).
const boost::system::error_category& tls_verify_category();

class Client {
 public:
  explicit Client(boost::asio::any_io_executor executor, std::size_t max_line = 1 << 20);
  ~Client();  // closes the connection, which ends a TLS read still in flight
  Client(Client&&) = default;

  boost::asio::awaitable<boost::system::error_code> connect(std::string host, std::string port,
                                                            Millis timeout = Millis(5000));

  // The kernel's receive buffer for the next connect (0: the system default).
  // Small values make a client that stops reading back up quickly.
  void set_receive_buffer(int bytes) { receive_buffer_ = bytes; }
  // TLS for the next connect; connect then also returns handshake and
  // verification errors (see tls_verify_category).
  void set_tls(TlsOptions options);
  const TlsOptions& tls() const { return tls_; }
  // The server certificate's SHA-256 fingerprint ("AB:CD:..."); empty without TLS.
  std::string tls_peer_fingerprint() const;

  // Sends one request as a line.
  boost::asio::awaitable<boost::system::error_code> send(const boost::json::object& request);
  // Sends bytes as they are (for malformed input and partial lines).
  boost::asio::awaitable<boost::system::error_code> send_raw(std::string bytes);

  // The next line the server sent, whatever it is.
  boost::asio::awaitable<Event> next(Millis timeout);
  // The next event of type `kind`, dropping the ones before it.
  boost::asio::awaitable<Event> next_of(protocol::EventType kind, Millis timeout);
  // Sends hello and waits for the welcome (or the error that answers it).
  // `extra` fields (password, resume, id, ...) are added to the hello.
  boost::asio::awaitable<Event> hello(std::string_view nick, Millis timeout,
                                      boost::json::object extra = {});

  // Half-close: the server sees end of input.
  // With TLS the server sees the TCP end without close_notify, which it also
  // takes as the end of input.
  void finish_sending();
  void close();
  bool is_open() const;
  // The TCP socket, under TLS when it is on.
  boost::asio::ip::tcp::socket& socket();

 private:
  struct Collector;
  struct TlsLink;
  boost::asio::awaitable<Event> next_line(Millis timeout);
  boost::asio::awaitable<boost::system::error_code> start_tls(const std::string& host);
  // Reads what the server sent and frames it, waiting until `deadline` at most.
  boost::asio::awaitable<boost::system::error_code> fill(std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<boost::system::error_code> fill_tls(std::chrono::steady_clock::time_point deadline);

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  protocol::LineFramer framer_;
  std::deque<std::string> lines_;  // framed, not yet taken
  bool line_too_long_ = false;
  int receive_buffer_ = 0;
  TlsOptions tls_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // made at the first TLS connect
  std::shared_ptr<TlsLink> tls_link_;                         // shared with a read in flight
};

// Requests built as JSON objects, ready for Client::send.
namespace request {
boost::json::object say(std::string_view room, std::string_view text);
boost::json::object join(std::string_view room);
boost::json::object part(std::string_view room);
boost::json::object msg(std::string_view to, std::string_view text);
boost::json::object of_type(std::string_view type);
}  // namespace request

}  // namespace corochat::client
