// The writer's CPU per write of 20 lines of 150 bytes (3 KB, one TLS record)
// on loopback, each way chatd has written them: plain TCP (one writev of the
// lines), TLS through Asio's ssl::stream (async_write of a 16 KiB chunk: the
// TLS writer before SocketBio) and TLS through SSL_write over SocketBio. A
// second thread drains the socket without decrypting; only the writing
// thread's CPU time is counted, so the figure holds up on a busy machine
// better than a whole fan-out does.
//
//   g++ -O2 -std=c++20 -Isrc -Iinclude -DBOOST_ASIO_NO_DEPRECATED bench/tls_write_path.cpp
//       src/server/tls.cpp -o /tmp/tls_write_path -lssl -lcrypto -lpthread
//   scripts/make-cert.sh -o DIR localhost 127.0.0.1
//   taskset -c 0 /tmp/tls_write_path plain|asio|direct 50000 DIR/chatd.crt DIR/chatd.key
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <openssl/ssl.h>

#include "server/tls.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

static double thread_cpu() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

constexpr int lines = 20, line_bytes = 150;

// The peer: handshakes when tls, then drains raw bytes until EOF.
static void drain(int port, bool tls) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, (sockaddr*)&a, sizeof a) != 0) { perror("connect"); return; }
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  if (tls) {
    ctx = SSL_CTX_new(TLS_client_method());
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) { fprintf(stderr, "client handshake failed\n"); return; }
  }
  static char buf[1 << 16];
  while (::recv(fd, buf, sizeof buf, 0) > 0) {}
  if (ssl) SSL_free(ssl);
  if (ctx) SSL_CTX_free(ctx);
  ::close(fd);
}

int main(int argc, char** argv) {
  const std::string mode = argv[1];
  const int writes = argc > 2 ? std::stoi(argv[2]) : 100000;
  const std::string cert = argv[3], key = argv[4];
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const int port = acceptor.local_endpoint().port();
  std::thread peer(drain, port, mode != "plain");
  tcp::socket socket = acceptor.accept();
  std::vector<std::string> queue(lines, std::string(line_bytes - 1, 'x') + "\n");
  std::vector<char> chunk(16384);
  auto copy_front = [&] {
    std::size_t n = 0;
    for (auto& l : queue) { std::memcpy(chunk.data() + n, l.data(), l.size()); n += l.size(); }
    return n;
  };
  double cpu = 0;
  if (mode == "plain") {
    socket.non_blocking(true);
    std::vector<iovec> iov;
    for (auto& l : queue) iov.push_back({l.data(), l.size()});
    const double start = thread_cpu();
    for (int i = 0; i < writes; ++i) {
      ssize_t n = ::writev(socket.native_handle(), iov.data(), iov.size());
      // A full socket: wait, then send the rest from a contiguous copy (rare).
      std::size_t sent = n < 0 ? 0 : static_cast<std::size_t>(n);
      const std::size_t total = lines * line_bytes;
      if (sent < total) copy_front();
      while (sent < total) {
        pollfd p{socket.native_handle(), POLLOUT, 0};
        ::poll(&p, 1, -1);
        n = ::send(socket.native_handle(), chunk.data() + sent, total - sent, MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<std::size_t>(n);
      }
    }
    cpu = thread_cpu() - start;
  } else {
    asio::ssl::context context(asio::ssl::context::tls_server);
    context.use_certificate_chain_file(cert);
    context.use_private_key_file(key, asio::ssl::context::pem);
    asio::ssl::stream<tcp::socket> stream(std::move(socket), context);
    SSL_clear_mode(stream.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    stream.handshake(asio::ssl::stream_base::server);
    if (mode == "asio") {
      int done = 0;
      std::function<void()> next = [&] {
        if (done++ == writes) return;
        const std::size_t n = copy_front();
        asio::async_write(stream, asio::buffer(chunk.data(), n), [&](boost::system::error_code ec, std::size_t) {
          if (ec) { fprintf(stderr, "%s\n", ec.message().c_str()); return; }
          next();
        });
      };
      const double start = thread_cpu();
      next();
      io.run();
      cpu = thread_cpu() - start;
    } else {
      SSL* ssl = stream.native_handle();
      SSL_up_ref(ssl);
      tcp::socket raw(std::move(stream.next_layer()));
      raw.non_blocking(true);
      corochat::server::SocketBio bio_state(raw.native_handle(), {});
      BIO* bio = bio_state.make_bio();
      SSL_set_bio(ssl, bio, bio);
      const double start = thread_cpu();
      for (int i = 0; i < writes; ++i) {
        while (bio_state.has_unsent()) {
          if (bio_state.flush() == asio::error::would_block) { pollfd p{raw.native_handle(), POLLOUT, 0}; ::poll(&p, 1, -1); }
        }
        const std::size_t n = copy_front();
        if (SSL_write(ssl, chunk.data(), (int)n) <= 0) { fprintf(stderr, "SSL_write failed\n"); break; }
      }
      while (bio_state.has_unsent()) {
        if (bio_state.flush() == asio::error::would_block) { pollfd p{raw.native_handle(), POLLOUT, 0}; ::poll(&p, 1, -1); }
      }
      cpu = thread_cpu() - start;
      raw.close();
      SSL_free(ssl);
    }
  }
  socket.close();
  acceptor.close();
  peer.join();
  printf("%s: %.2f us CPU per write of %d lines (%d writes)\n", mode.c_str(), cpu / writes * 1e6, lines, writes);
}
