// chat-floor: the physical floor for fan-out. A connection that sends a line
// is a publisher; every complete line any publisher sends is written, byte
// for byte, to every connection that never sent one (the subscribers).
// Nothing is parsed beyond finding newlines, there are no rooms and no
// limits, so what it costs per delivery is close to what the kernel costs.
//
// Batching: one epoll wake-up reads every ready publisher dry into a single
// batch, then hands that batch to each subscriber in one write(2). A
// subscriber whose socket is full keeps the unwritten rest in its own buffer
// and is written again when epoll says it is writable.
//
//   chat-floor [--host 127.0.0.1] [--port 0]
// prints "chat-floor: listening on HOST port N" on stderr; SIGTERM or SIGINT
// stops it.
#include <arpa/inet.h>
#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>

namespace {

// A subscriber that falls this far behind is dropped, like a slow consumer.
constexpr std::size_t max_backlog = 64u << 20;
constexpr std::size_t read_chunk = 256u << 10;

struct Connection {
  int fd = -1;
  bool publisher = false;
  bool want_out = false;   // EPOLLOUT registered: backlog waits for the socket
  std::string partial;     // a publisher's unfinished line
  std::string backlog;     // a subscriber's bytes not yet accepted by the socket
  std::size_t backlog_sent = 0;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "chat-floor: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

class Floor {
 public:
  Floor(int listener, int signals) : listener_(listener), signals_(signals) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) die("epoll_create1");
    watch(listener_, EPOLLIN, EPOLL_CTL_ADD);
    watch(signals_, EPOLLIN, EPOLL_CTL_ADD);
  }

  void run() {
    std::vector<epoll_event> events(1024);
    while (!stopping_) {
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("epoll_wait");
      }
      batch_.clear();
      for (int i = 0; i < n; ++i) on_event(events[static_cast<std::size_t>(i)]);
      if (!batch_.empty()) fan_out();
      for (int fd : closing_) close_connection(fd);
      closing_.clear();
    }
  }

 private:
  void watch(int fd, std::uint32_t mask, int op) {
    epoll_event ev{};
    ev.events = mask;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_, op, fd, &ev) < 0) die("epoll_ctl");
  }

  void on_event(const epoll_event& ev) {
    const int fd = ev.data.fd;
    if (fd == listener_) return accept_all();
    if (fd == signals_) {
      stopping_ = true;
      return;
    }
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    Connection& c = *it->second;
    if (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_all(c);
    if ((ev.events & EPOLLOUT) && c.want_out) flush_backlog(c);
  }

  void accept_all() {
    for (;;) {
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE) return;  // retried on the next wake-up
        die("accept4");
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Connection>();
      c->fd = fd;
      connections_.emplace(fd, std::move(c));
      watch(fd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
    }
  }

  // Reads until the socket is dry; complete lines join this wake-up's batch.
  void read_all(Connection& c) {
    for (;;) {
      const std::size_t old = scratch_.size();
      scratch_.resize(old + read_chunk);
      const ssize_t got = read(c.fd, scratch_.data() + old, read_chunk);
      scratch_.resize(old + (got > 0 ? static_cast<std::size_t>(got) : 0));
      if (got > 0) {
        take_lines(c, std::string_view(scratch_).substr(old));
        scratch_.resize(old);
        if (static_cast<std::size_t>(got) < read_chunk) return;  // dry, most likely
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (got < 0 && errno == EINTR) continue;
      closing_.push_back(c.fd);  // end of stream or an error
      return;
    }
  }

  void take_lines(Connection& c, std::string_view data) {
    c.publisher = true;
    const std::size_t last = data.rfind('\n');
    if (last == std::string_view::npos) {
      c.partial.append(data);
      return;
    }
    batch_.append(c.partial);
    c.partial.clear();
    batch_.append(data.substr(0, last + 1));
    c.partial.append(data.substr(last + 1));
  }

  // One write of the whole batch per subscriber; the rest waits in its backlog.
  void fan_out() {
    for (auto& [fd, c] : connections_) {
      if (c->publisher) continue;
      if (c->want_out) {
        append_backlog(*c, batch_);
        continue;
      }
      const ssize_t put = write(fd, batch_.data(), batch_.size());
      if (put < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        closing_.push_back(fd);
        continue;
      }
      const std::size_t done = put > 0 ? static_cast<std::size_t>(put) : 0;
      if (done < batch_.size()) {
        append_backlog(*c, std::string_view(batch_).substr(done));
        c->want_out = true;
        watch(fd, EPOLLIN | EPOLLRDHUP | EPOLLOUT, EPOLL_CTL_MOD);
      }
    }
  }

  void append_backlog(Connection& c, std::string_view bytes) {
    if (c.backlog.size() - c.backlog_sent + bytes.size() > max_backlog) {
      closing_.push_back(c.fd);
      return;
    }
    c.backlog.append(bytes);
  }

  void flush_backlog(Connection& c) {
    while (c.backlog_sent < c.backlog.size()) {
      const ssize_t put = write(c.fd, c.backlog.data() + c.backlog_sent, c.backlog.size() - c.backlog_sent);
      if (put < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) closing_.push_back(c.fd);
        return;
      }
      c.backlog_sent += static_cast<std::size_t>(put);
    }
    c.backlog.clear();
    c.backlog_sent = 0;
    c.want_out = false;
    watch(c.fd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
  }

  void close_connection(int fd) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;  // listed twice
    close(fd);  // also removes it from the epoll set
    connections_.erase(it);
  }

  int listener_;
  int signals_;
  int epoll_ = -1;
  bool stopping_ = false;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::string batch_;    // every complete line read in this wake-up, in order
  std::string scratch_;  // read buffer
  std::vector<int> closing_;
};

int listen_on(const std::string& host, const std::string& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(port.c_str())));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "chat-floor: not an IPv4 address: %s\n", host.c_str());
    std::exit(2);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) die("bind");
  if (listen(fd, 4096) < 0) die("listen");
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::fprintf(stderr, "chat-floor: listening on %s port %u\n", host.c_str(), ntohs(addr.sin_port));
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::string port = "0";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if ((arg == "--host" || arg == "--port") && i + 1 < argc) {
      (arg == "--host" ? host : port) = argv[++i];
    } else {
      std::fprintf(stderr, "usage: chat-floor [--host IPV4] [--port N]\n");
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  const int signals = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signals < 0) die("signalfd");

  Floor floor(listen_on(host, port), signals);
  floor.run();
  return 0;
}
