#include "server/metrics/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "corochat/use_tuple.hpp"
#include "server/log.hpp"

namespace corochat::server::metrics {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {
// A scraper that neither asks nor reads within this is closed.
constexpr auto request_timeout = std::chrono::seconds(10);
constexpr std::size_t max_header_bytes = 8 * 1024;

http::response<http::string_body> respond(const http::request<http::empty_body>& request, http::status status,
                                          std::string_view content_type, std::string body) {
  http::response<http::string_body> response{status, request.version()};
  response.set(http::field::server, "chatd");
  response.set(http::field::content_type, content_type);
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  if (request.method() == http::verb::head) response.body().clear();  // the length stays: HEAD's answer
  return response;
}
}  // namespace

HttpServer::HttpServer(asio::io_context& io, const Endpoint& where, std::function<Snapshot()> snapshot,
                       std::function<bool()> accepting)
    : io_(io),
      acceptor_(io),
      snapshot_(std::move(snapshot)),
      accepting_(std::move(accepting)),
      alive_(std::make_shared<bool>(true)) {
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(where.host, where.port, tcp::resolver::passive);
  const tcp::endpoint endpoint = results.begin()->endpoint();
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
}

HttpServer::~HttpServer() {
  *alive_ = false;
  stop();
}

void HttpServer::start() { asio::co_spawn(io_, accept_loop(), log_failure("metrics listener")); }

void HttpServer::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (tcp::socket* socket : open_) socket->close(ignored);
}

tcp::endpoint HttpServer::local_endpoint() const {
  boost::system::error_code ignored;
  return acceptor_.local_endpoint(ignored);
}

asio::awaitable<void> HttpServer::accept_loop() {
  const std::shared_ptr<bool> alive = alive_;
  while (*alive && acceptor_.is_open()) {
    std::tuple<boost::system::error_code, tcp::socket> accepted = co_await acceptor_.async_accept(use_tuple);
    if (!*alive) co_return;
    auto& [ec, socket] = accepted;
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      log::warn("metrics: accept failed: ", ec.message());
      continue;
    }
    if (open_.size() >= max_connections) continue;  // closed here: too many scrapers at once
    asio::co_spawn(io_, serve(std::move(socket)), log_failure("metrics connection"));
  }
}

asio::awaitable<void> HttpServer::serve(tcp::socket socket) {
  const std::shared_ptr<bool> alive = alive_;
  beast::tcp_stream stream(std::move(socket));
  // Listed for stop() while this coroutine lives, however it ends.
  struct Listed {
    std::unordered_set<tcp::socket*>& open;
    tcp::socket* socket;
    const std::shared_ptr<bool>& alive;
    ~Listed() {
      if (*alive) open.erase(socket);
    }
  } listed{open_, &stream.socket(), alive};
  open_.insert(listed.socket);
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(max_header_bytes);
    stream.expires_after(request_timeout);
    std::tuple<boost::system::error_code, std::size_t> read = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (!*alive) co_return;
    if (std::get<0>(read)) break;  // closed, timed out, or not HTTP
    const auto& request = parser.get();
    http::response<http::string_body> response;
    const bool get = request.method() == http::verb::get || request.method() == http::verb::head;
    const std::string_view target = request.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (!get) {
      response = respond(request, http::status::method_not_allowed, "text/plain", "only GET\n");
      response.set(http::field::allow, "GET, HEAD");
    } else if (path == "/metrics") {
      response = respond(request, http::status::ok, "text/plain; version=0.0.4; charset=utf-8", render(snapshot_()));
    } else if (path == "/healthz") {
      const bool up = accepting_();
      response = respond(request, up ? http::status::ok : http::status::service_unavailable, "text/plain",
                         up ? "ok\n" : "shutting down\n");
    } else {
      response = respond(request, http::status::not_found, "text/plain", "/metrics or /healthz\n");
    }
    std::tuple<boost::system::error_code, std::size_t> written = co_await http::async_write(stream, response, use_tuple);
    if (!*alive) co_return;
    if (std::get<0>(written) || !response.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

}  // namespace corochat::server::metrics
