#include "corochat/use_tuple.hpp"
#include "corochat/client.hpp"

#include <array>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace corochat::client {
namespace asio = boost::asio;
namespace json = boost::json;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
namespace {

class TlsVerifyCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "corochat.tls-verify"; }
  std::string message(int value) const override {
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(value);
  }
};

std::shared_ptr<ssl::context> make_client_context(const TlsOptions& options, boost::system::error_code& ec) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  if (options.insecure) {
    context->set_verify_mode(ssl::verify_none, ec);
  } else {
    if (options.ca_file.empty()) context->set_default_verify_paths(ec);
    else context->load_verify_file(options.ca_file, ec);
    if (!ec) context->set_verify_mode(ssl::verify_peer, ec);
  }
  return context;
}
}  // namespace

const boost::system::error_category& tls_verify_category() {
  static const TlsVerifyCategory category;
  return category;
}

// The TLS stream and the read that may be in flight on it. A read is never
// cancelled by a timeout (a cancelled TLS read may have consumed bytes): it
// stays in flight, and the next call to next() takes its result. The read's
// handler holds this, so the stream outlives it whatever happens to the Client.
struct Client::TlsLink {
  TlsLink(tcp::socket socket, std::shared_ptr<ssl::context> tls_context)
      : context(std::move(tls_context)),
        stream(std::move(socket), *context),
        ready(stream.get_executor(), std::chrono::steady_clock::time_point::max()) {}

  void start_read(const std::shared_ptr<TlsLink>& self) {
    reading = true;
    stream.async_read_some(asio::buffer(buffer), [self](boost::system::error_code ec, std::size_t n) {
      self->reading = false;
      // A server that closes TCP without close_notify has still ended the
      // connection; a chat line has no length to truncate.
      if (ec == ssl::error::stream_truncated) ec = asio::error::eof;
      self->done.emplace(ec, n);
      self->ready.cancel();
    });
  }

  std::shared_ptr<ssl::context> context;  // before the stream, which uses it
  ssl::stream<tcp::socket> stream;
  asio::steady_timer ready;  // the reader waits on it; a finished read cancels it
  std::array<char, 8192> buffer;
  bool reading = false;
  std::optional<std::pair<boost::system::error_code, std::size_t>> done;
};

std::string_view Event::type() const {
  if (const json::value* t = value.if_contains("type"); t && t->is_string()) return t->get_string();
  return {};
}

protocol::EventType Event::kind() const { return protocol::event_type_of(value); }

std::optional<protocol::ErrorCode> Event::code() const {
  if (kind() != protocol::EventType::error) return std::nullopt;
  const json::value* code = value.if_contains("code");
  if (!code || !code->is_string()) return std::nullopt;
  return protocol::parse_error_code(code->get_string());
}

boost::system::error_code Event::error_code() const {
  if (const std::optional<protocol::ErrorCode> c = code()) return make_error_code(*c);
  return {};
}

struct Client::Collector {
  Client& client;
  void on_line(std::string_view line) { client.lines_.emplace_back(line); }
  void on_too_long() { client.line_too_long_ = true; }
};

Client::Client(asio::any_io_executor executor, std::size_t max_line)
    : socket_(executor), timer_(executor), framer_(max_line) {}

Client::~Client() { close(); }

asio::awaitable<boost::system::error_code> Client::connect(std::string host, std::string port, Millis timeout) {
  tcp::resolver resolver(socket_.get_executor());
  // Named, not a structured binding: GCC 12 destroys a structured binding of a
  // non-trivial co_await result twice.
  std::tuple<boost::system::error_code, tcp::resolver::results_type> resolved =
      co_await resolver.async_resolve(host, port, use_tuple);
  auto& [rec, endpoints] = resolved;
  if (rec) co_return rec;
  // Endpoint by endpoint, so that socket options are set before connecting.
  timer_.expires_after(timeout);
  boost::system::error_code ec = asio::error::host_not_found;
  close();
  tls_link_.reset();  // a read still in flight on it keeps it until it ends
  for (const auto& entry : endpoints) {
    close();
    socket_.open(entry.endpoint().protocol(), ec);
    if (ec) continue;
    if (receive_buffer_ > 0) socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer_), ec);
    auto result = co_await (socket_.async_connect(entry.endpoint(), use_tuple) || timer_.async_wait(use_tuple));
    if (result.index() == 1) {
      close();
      co_return asio::error::timed_out;
    }
    ec = std::get<0>(std::get<0>(result));
    if (!ec) break;
  }
  if (ec) {
    close();
    co_return ec;
  }
  socket_.set_option(tcp::no_delay(true), ec);
  if (tls_.enabled) {
    if (!ec) ec = co_await start_tls(host);
    co_return ec;
  }
  if (!ec) socket_.non_blocking(true, ec);
  co_return ec;
}

void Client::set_tls(TlsOptions options) {
  tls_ = std::move(options);
  tls_context_.reset();  // made again, from these options, at the next connect
}

// The handshake shares connect's deadline (timer_ is armed).
asio::awaitable<boost::system::error_code> Client::start_tls(const std::string& host) {
  boost::system::error_code ec;
  if (!tls_context_) tls_context_ = make_client_context(tls_, ec);
  if (ec) {
    tls_context_.reset();
    close();
    co_return ec;
  }
  auto link = std::make_shared<TlsLink>(std::move(socket_), tls_context_);
  tls_link_ = link;
  const std::string name = tls_.server_name.empty() ? host : tls_.server_name;
  SSL* native = link->stream.native_handle();
  boost::system::error_code not_address;
  asio::ip::make_address(name, not_address);
  if (not_address) SSL_set_tlsext_host_name(native, name.c_str());  // SNI carries names only
  if (!tls_.insecure) {
    // OpenSSL checks the name during verification, and says which check failed.
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = not_address ? X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size())
                                : X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    if (set != 1) {
      close();
      co_return asio::error::invalid_argument;
    }
  }
  auto result = co_await (link->stream.async_handshake(ssl::stream_base::client, use_tuple) ||
                          timer_.async_wait(use_tuple));
  if (result.index() == 1) {
    close();
    co_return asio::error::timed_out;
  }
  ec = std::get<0>(std::get<0>(result));
  if (ec) {
    if (const long verified = SSL_get_verify_result(native); verified != X509_V_OK)
      ec.assign(static_cast<int>(verified), tls_verify_category());
    close();
  }
  co_return ec;
}

std::string Client::tls_peer_fingerprint() const {
  if (!tls_link_) return {};
  X509* certificate = SSL_get0_peer_certificate(tls_link_->stream.native_handle());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!certificate || X509_digest(certificate, EVP_sha256(), digest, &size) != 1) return {};
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string text;
  for (unsigned int i = 0; i < size; ++i) {
    if (i) text.push_back(':');
    text.push_back(hex[digest[i] >> 4]);
    text.push_back(hex[digest[i] & 0xf]);
  }
  return text;
}

bool Client::is_open() const {
  return tls_link_ ? tls_link_->stream.lowest_layer().is_open() : socket_.is_open();
}

tcp::socket& Client::socket() { return tls_link_ ? tls_link_->stream.next_layer() : socket_; }

asio::awaitable<boost::system::error_code> Client::send(const json::object& request) {
  std::string line = json::serialize(request);
  line.push_back('\n');
  co_return co_await send_raw(std::move(line));
}

asio::awaitable<boost::system::error_code> Client::send_raw(std::string bytes) {
  if (auto link = tls_link_) {
    auto [ec, n] = co_await asio::async_write(link->stream, asio::buffer(bytes), use_tuple);
    co_return ec;
  }
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), use_tuple);
  co_return ec;
}

asio::awaitable<Event> Client::next_line(Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (lines_.empty()) {
    if (line_too_long_) {
      line_too_long_ = false;
      co_return Event{asio::error::message_size, {}, {}};
    }
    boost::system::error_code ec;
    if (tls_link_) ec = co_await fill_tls(deadline);
    else ec = co_await fill(deadline);
    if (ec) co_return Event{ec, {}, {}};
  }
  Event event;
  event.line = std::move(lines_.front());
  lines_.pop_front();
  co_return event;
}

asio::awaitable<boost::system::error_code> Client::fill(std::chrono::steady_clock::time_point deadline) {
  std::array<char, 8192> buffer;
  // Wait for readability, not for a read: when the timer wins the race, a
  // cancelled wait has consumed nothing, while a read could lose its bytes.
  timer_.expires_at(deadline);
  auto result = co_await (socket_.async_wait(tcp::socket::wait_read, use_tuple) || timer_.async_wait(use_tuple));
  if (result.index() == 1) co_return asio::error::timed_out;
  if (auto [wait_error] = std::get<0>(result); wait_error) co_return wait_error;
  boost::system::error_code ec;
  const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);  // the socket is non-blocking
  if (ec == asio::error::would_block) co_return boost::system::error_code();
  if (ec) co_return ec;
  Collector collector{*this};
  framer_.feed({buffer.data(), n}, collector);
  co_return ec;
}

asio::awaitable<boost::system::error_code> Client::fill_tls(std::chrono::steady_clock::time_point deadline) {
  auto link = tls_link_;
  if (!link->done) {
    if (!link->reading) link->start_read(link);
    link->ready.expires_at(deadline);
    co_await link->ready.async_wait(use_tuple);  // ends at the deadline, or early when the read is done
    if (!link->done) co_return asio::error::timed_out;
  }
  const auto [ec, n] = *link->done;
  link->done.reset();
  if (ec) co_return ec;
  Collector collector{*this};
  framer_.feed({link->buffer.data(), n}, collector);
  co_return ec;
}

asio::awaitable<Event> Client::next(Millis timeout) {
  Event event = co_await next_line(timeout);
  if (event.ec) co_return event;
  boost::system::error_code ec;
  json::value value = json::parse(event.line, ec);
  if (ec || !value.is_object()) {
    event.ec = ec ? ec : make_error_code(json::error::not_object);
    co_return event;
  }
  event.value = std::move(value.get_object());
  co_return event;
}

asio::awaitable<Event> Client::next_of(protocol::EventType kind, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    Event event = co_await next(std::max(left, Millis(0)));
    if (event.ec || event.kind() == kind) co_return event;
  }
}

asio::awaitable<Event> Client::hello(std::string_view nick, Millis timeout, json::object extra) {
  extra["type"] = "hello";
  extra["nick"] = nick;
  if (auto ec = co_await send(extra)) co_return Event{ec, {}, {}};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    Event event = co_await next(std::max(left, Millis(0)));
    if (event.ec || event.kind() == protocol::EventType::welcome || event.kind() == protocol::EventType::error)
      co_return event;
  }
}

void Client::finish_sending() {
  boost::system::error_code ignored;
  socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void Client::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (tls_link_) tls_link_->stream.lowest_layer().close(ignored);
}

namespace request {
json::object of_type(std::string_view type) {
  json::object r;
  r["type"] = type;
  return r;
}
json::object say(std::string_view room, std::string_view text) {
  auto r = of_type("say");
  r["room"] = room;
  r["text"] = text;
  return r;
}
json::object join(std::string_view room) {
  auto r = of_type("join");
  r["room"] = room;
  return r;
}
json::object part(std::string_view room) {
  auto r = of_type("part");
  r["room"] = room;
  return r;
}
json::object msg(std::string_view to, std::string_view text) {
  auto r = of_type("msg");
  r["to"] = to;
  r["text"] = text;
  return r;
}
}  // namespace request

}  // namespace corochat::client
