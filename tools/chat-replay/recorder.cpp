#include "corochat/use_tuple.hpp"
#include "recorder.hpp"

#include <array>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "corochat/protocol/framer.hpp"
#include "recording.hpp"

namespace corochat::replay {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t max_recorded_line = 1 << 20;

class Recorder {
 public:
  Recorder(asio::io_context& io, const RecordOptions& options)
      : io_(io), options_(options), acceptor_(io), out_(options.out_path) {
    if (!out_) throw std::runtime_error("cannot write " + options.out_path);
    tcp::resolver resolver(io);
    auto endpoint = resolver.resolve(options.listen_host, options.listen_port).begin()->endpoint();
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    write("# recorded by chat-replay record, upstream " + options.upstream_host + ":" + options.upstream_port + "\n");
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      std::tuple<boost::system::error_code, tcp::socket> accepted = co_await acceptor_.async_accept(use_tuple);
      auto& [ec, socket] = accepted;
      if (ec) co_return;
      asio::co_spawn(io_, proxy(std::move(socket), "c" + std::to_string(next_client_++)), asio::detached);
    }
  }

  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    out_.flush();
  }

 private:
  struct Link {
    tcp::socket client;
    tcp::socket upstream;
    bool client_finished = false;  // the client closed its side first
  };

  asio::awaitable<void> proxy(tcp::socket client, std::string name) {
    auto link = std::make_shared<Link>(Link{std::move(client), tcp::socket(io_)});
    tcp::resolver resolver(io_);
    std::tuple<boost::system::error_code, tcp::resolver::results_type> resolved =
        co_await resolver.async_resolve(options_.upstream_host, options_.upstream_port, use_tuple);
    auto& [rec, endpoints] = resolved;
    boost::system::error_code ec = rec;
    if (!ec) {
      for (const auto& entry : endpoints) {
        auto [cec] = co_await link->upstream.async_connect(entry.endpoint(), use_tuple);
        ec = cec;
        if (!ec) break;
      }
    }
    if (ec) {
      std::cerr << "chat-replay record: cannot reach upstream: " << ec.message() << '\n';
      co_return;
    }
    record(recording_.connected(name));
    asio::co_spawn(io_, pump(link, name, true), asio::detached);
    co_await pump(link, name, false);
  }

  // One direction of a link: forwards bytes as they come and records lines.
  asio::awaitable<void> pump(std::shared_ptr<Link> link, std::string name, bool from_client) {
    tcp::socket& from = from_client ? link->client : link->upstream;
    tcp::socket& to = from_client ? link->upstream : link->client;
    protocol::LineFramer framer(max_recorded_line);
    struct Sink {
      Recorder& self;
      const std::string& name;
      bool from_client;
      void on_line(std::string_view line) {
        self.record(from_client ? self.recording_.sent(name, line) : self.recording_.received(name, line));
      }
      void on_too_long() { self.record("# " + name + ": a line over 1 MiB was not recorded\n"); }
    } sink{*this, name, from_client};
    std::array<char, 16384> buffer;
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buffer), use_tuple);
      if (ec) break;
      framer.feed({buffer.data(), n}, sink);
      auto [wec, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n), use_tuple);
      if (wec) break;
    }
    boost::system::error_code ignored;
    if (from_client) {
      // The server still flushes what it owes this client; the end of the link
      // is recorded once that is done, after those lines.
      link->client_finished = true;
      link->upstream.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    record(link->client_finished ? recording_.client_closed(name) : recording_.server_closed(name));
    link->client.shutdown(tcp::socket::shutdown_send, ignored);
    link->client.close(ignored);
  }

  void record(const std::string& lines) {
    if (lines.empty()) return;
    write(recording_.pause_since_last(std::chrono::steady_clock::now()));
    write(lines);
  }

  void write(const std::string& text) {
    out_ << text;
    out_.flush();  // a recording survives however the recorder is stopped
  }

  asio::io_context& io_;
  const RecordOptions& options_;
  tcp::acceptor acceptor_;
  std::ofstream out_;
  Recording recording_;
  int next_client_ = 1;
};

}  // namespace

int run_recorder(const RecordOptions& options) {
  try {
    asio::io_context io(1);
    Recorder recorder(io, options);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
      recorder.stop();
      io.stop();
    });
    std::cerr << "chat-replay record: listening on " << options.listen_host << " port " << recorder.port()
              << ", upstream " << options.upstream_host << ":" << options.upstream_port << ", writing "
              << options.out_path << std::endl;
    asio::co_spawn(io, recorder.accept_loop(), asio::detached);
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "chat-replay record: " << e.what() << '\n';
    return 2;
  }
  return 0;
}

}  // namespace corochat::replay
