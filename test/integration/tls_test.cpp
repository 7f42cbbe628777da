// chatd over TLS: certificates made at test time by scripts/make-cert.sh, the
// same protocol inside, verification by the client, reload on SIGHUP, and
// whatever is not TLS refused on the TLS port without harm to anyone else;
// and what the connection's own TLS driver must get right: requests that
// arrive with the handshake, KeyUpdate, records cut short, full sockets.
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "async_test.hpp"

using namespace corochat;
using namespace corochat::client;
using namespace corochat::test;
namespace fs = std::filesystem;

namespace {

// A temporary directory, removed with everything in it at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    char name[] = "/tmp/chatd-tls-test-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// chatd.crt and chatd.key in `dir`, made by the project's own script.
void make_cert(const fs::path& dir, const std::string& names = "") {
  const std::string command =
      "bash '" MAKE_CERT_PATH "' -o '" + dir.string() + "' " + names + " >/dev/null 2>&1 </dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  REQUIRE(fs::exists(dir / "chatd.crt"));
}

std::vector<std::string> tls_args(const fs::path& dir) {
  return {"--tls-cert", (dir / "chatd.crt").string(), "--tls-key", (dir / "chatd.key").string(), "--tls-port", "0"};
}

// The port on chatd's "listening on ... port N (TLS)" line.
std::string tls_port(const ChatdProcess& chatd) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream lines(chatd.log());
    for (std::string line; std::getline(lines, line);) {
      if (line.find("(TLS)") == std::string::npos) continue;
      const auto at = line.find(" port ");
      return line.substr(at + 6, line.find(' ', at + 6) - at - 6);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL("chatd announced no TLS port: " << chatd.log());
  return {};
}

// Waits (bounded) for `text` in chatd's log.
bool log_shows(const ChatdProcess& chatd, std::string_view text) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (std::chrono::steady_clock::now() < deadline) {
    if (chatd.log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// The SHA-256 fingerprint of a PEM certificate, as Client::tls_peer_fingerprint gives it.
std::string fingerprint_of(const fs::path& pem) {
  FILE* file = std::fopen(pem.c_str(), "r");
  REQUIRE(file);
  X509* certificate = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  REQUIRE(certificate);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  X509_digest(certificate, EVP_sha256(), digest, &size);
  X509_free(certificate);
  std::string text;
  char byte[4];
  for (unsigned int i = 0; i < size; ++i) {
    std::snprintf(byte, sizeof byte, i ? ":%02X" : "%02X", digest[i]);
    text += byte;
  }
  return text;
}

TlsOptions trusting(const fs::path& ca_file) {
  TlsOptions tls;
  tls.enabled = true;
  tls.ca_file = ca_file.string();
  return tls;
}

// A TLS client of chatd's TLS port, registered as `nick` unless it is empty.
asio::awaitable<std::unique_ptr<Client>> connect_tls(asio::io_context& io, const std::string& port, TlsOptions tls,
                                                     std::string nick = {}) {
  auto client = std::make_unique<Client>(io.get_executor());
  client->set_tls(std::move(tls));
  auto ec = co_await client->connect("127.0.0.1", port);
  INFO("TLS connect: " << ec.message());
  REQUIRE_FALSE(ec);
  if (!nick.empty()) {
    Event welcome = co_await client->hello(nick, patience);
    INFO(welcome.line);
    REQUIRE(welcome.kind() == EventType::welcome);
  }
  co_return client;
}

// What connect says to a client that must refuse the server.
asio::awaitable<boost::system::error_code> refused_connect(asio::io_context& io, const std::string& port,
                                                           TlsOptions tls) {
  Client client(io.get_executor());
  client.set_tls(std::move(tls));
  co_return co_await client.connect("127.0.0.1", port);
}

// `from` says `text` in the lobby and `to` hears it (after whatever it had not read yet).
asio::awaitable<void> say_and_hear(Client& from, Client& to, std::string from_nick, std::string text) {
  co_await send(from, request::say("lobby", text));
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    Event e = co_await to.next_of(EventType::message, std::max(left, Millis(0)));
    INFO("waiting for " << from_nick << "'s message " << text.substr(0, 40));
    REQUIRE_FALSE(e.ec);
    if (e.value.at("text") != json::value(text)) continue;
    CHECK(e.value.at("from") == json::value(from_nick));
    co_return;
  }
}

// The next event of type `kind`, skipping others (bounded).
asio::awaitable<json::object> expect_of(Client& client, EventType kind) {
  Event e = co_await client.next_of(kind, patience);
  INFO("expected a " << protocol::to_string(kind) << " event; got: " << (e.ec ? e.ec.message() : e.line));
  REQUIRE_FALSE(e.ec);
  co_return std::move(e.value);
}

// The next bye, skipping other events (bounded): it must give `reason`.
asio::awaitable<void> next_of_bye(Client& client, ByeReason reason) {
  const json::object bye = co_await expect_of(client, EventType::bye);
  INFO(json::serialize(bye));
  const json::value* sent = bye.if_contains("reason");
  REQUIRE((sent && sent->is_string()));
  CHECK(protocol::parse_bye_reason(sent->get_string()) == reason);
}

}  // namespace

TEST_CASE("two clients chat over TLS, and a plain client on the plain port hears them", "[tls]") {
  TempDir dir;
  make_cert(dir.path);
  ChatdProcess chatd(tls_args(dir.path));
  const std::string port = tls_port(chatd);
  REQUIRE(port != chatd.port());
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto alice = co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"), "alice");
    auto bob = co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"), "bob");
    auto carol = co_await connect_client(t.io, chatd, "carol");
    CHECK(alice->tls_peer_fingerprint() == fingerprint_of(dir.path / "chatd.crt"));

    co_await say_and_hear(*alice, *bob, "alice", "hello over TLS");
    json::object heard = co_await expect_of(*carol, EventType::message);
    CHECK(heard.at("text") == json::value("hello over TLS"));
    co_await say_and_hear(*carol, *alice, "carol", "hello in plain text");

    // A line longer than one TLS record (16 KiB) arrives whole.
    const std::string long_text(4000, 'x');
    co_await say_and_hear(*bob, *alice, "bob", long_text);

    // quit: bye, then the server closes the TLS connection.
    co_await send(*bob, request::of_type("quit"));
    co_await next_of_bye(*bob, ByeReason::quit);
    co_await expect_closed(*bob);
  });
  t.run();
}

TEST_CASE("a verifying client refuses a wrong host name and an untrusted certificate", "[tls]") {
  TempDir dir;
  TempDir other;
  make_cert(dir.path);
  make_cert(other.path);
  // TLS only: the one port chatd announces is the TLS one.
  ChatdProcess chatd([&] {
    auto args = tls_args(dir.path);
    args.push_back("--no-plain");
    return args;
  }());
  const std::string port = chatd.port();
  CHECK(chatd.log().find("(TLS)") != std::string::npos);
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    TlsOptions wrong_name = trusting(dir.path / "chatd.crt");
    wrong_name.server_name = "chat.example.org";
    boost::system::error_code ec = co_await refused_connect(t.io, port, wrong_name);
    INFO(ec.message());
    CHECK(ec.category() == tls_verify_category());
    CHECK(ec.value() == X509_V_ERR_HOSTNAME_MISMATCH);

    // Trusting another certificate, or only the system's authorities.
    ec = co_await refused_connect(t.io, port, trusting(other.path / "chatd.crt"));
    INFO(ec.message());
    CHECK(ec.category() == tls_verify_category());
    CHECK(ec.value() == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    TlsOptions system_store;
    system_store.enabled = true;
    ec = co_await refused_connect(t.io, port, system_store);
    CHECK(ec.category() == tls_verify_category());

    // --insecure connects to anything; the right trust and name connect too.
    TlsOptions insecure = wrong_name;
    insecure.insecure = true;
    auto anyone = co_await connect_tls(t.io, port, insecure, "anyone");
    TlsOptions right_name = trusting(dir.path / "chatd.crt");
    right_name.server_name = "localhost";
    auto alice = co_await connect_tls(t.io, port, right_name, "alice");
    co_await say_and_hear(*anyone, *alice, "anyone", "still here");
  });
  t.run();
  CHECK(log_shows(chatd, "TLS handshake with 127.0.0.1:"));
}

TEST_CASE("after SIGHUP new connections get the new certificate while old ones keep chatting", "[tls]") {
  TempDir dir;
  TempDir next;
  make_cert(dir.path);
  make_cert(next.path);
  const std::string old_print = fingerprint_of(dir.path / "chatd.crt");
  const std::string new_print = fingerprint_of(next.path / "chatd.crt");
  REQUIRE(old_print != new_print);
  // The clients trust both.
  const fs::path both = next.path / "both.pem";
  {
    std::ofstream out(both);
    out << std::ifstream(dir.path / "chatd.crt").rdbuf() << std::ifstream(next.path / "chatd.crt").rdbuf();
  }
  ChatdProcess chatd(tls_args(dir.path));
  const std::string port = tls_port(chatd);
  asio::io_context io;
  std::unique_ptr<Client> alice;
  std::unique_ptr<Client> bob;

  auto step = [&io](std::function<asio::awaitable<void>()> body) {
    bool done = false;
    asio::co_spawn(io, body, [&](std::exception_ptr e) {
      done = true;
      if (e) std::rethrow_exception(e);
    });
    io.restart();
    io.run_for(std::chrono::seconds(30));
    REQUIRE(done);
  };

  step([&]() -> asio::awaitable<void> {
    alice = co_await connect_tls(io, port, trusting(both), "alice");
    CHECK(alice->tls_peer_fingerprint() == old_print);
  });

  // Renewed on disk, as certbot does it: whole files replaced.
  fs::copy_file(next.path / "chatd.crt", dir.path / "chatd.crt.new");
  fs::copy_file(next.path / "chatd.key", dir.path / "chatd.key.new");
  fs::rename(dir.path / "chatd.crt.new", dir.path / "chatd.crt");
  fs::rename(dir.path / "chatd.key.new", dir.path / "chatd.key");
  chatd.signal(SIGHUP);
  REQUIRE(log_shows(chatd, "reloaded the TLS certificate"));

  step([&]() -> asio::awaitable<void> {
    bob = co_await connect_tls(io, port, trusting(both), "bob");
    CHECK(bob->tls_peer_fingerprint() == new_print);
    co_await say_and_hear(*alice, *bob, "alice", "from before the reload");
    co_await say_and_hear(*bob, *alice, "bob", "from after it");
  });

  // A broken file on SIGHUP: an error logged, the current certificate kept.
  { std::ofstream(dir.path / "chatd.crt") << "not a certificate\n"; }
  chatd.signal(SIGHUP);
  REQUIRE(log_shows(chatd, "keeping the current TLS certificate"));
  step([&]() -> asio::awaitable<void> {
    auto carol = co_await connect_tls(io, port, trusting(both), "carol");
    CHECK(carol->tls_peer_fingerprint() == new_print);
    co_await say_and_hear(*alice, *carol, "alice", "after a failed reload");
  });
  CHECK_FALSE(chatd.wait_exit(std::chrono::milliseconds(0)));
}

TEST_CASE("garbage and plain-text JSON on the TLS port are closed, and others are still served", "[tls]") {
  TempDir dir;
  make_cert(dir.path);
  ChatdProcess chatd(tls_args(dir.path));
  const std::string port = tls_port(chatd);
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto alice = co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"), "alice");

    Client plain(t.io.get_executor());
    auto ec = co_await plain.connect("127.0.0.1", port);
    REQUIRE_FALSE(ec);
    co_await send(plain, request::of_type("ping"));
    co_await expect_closed(plain);

    Client garbage(t.io.get_executor());
    ec = co_await garbage.connect("127.0.0.1", port);
    REQUIRE_FALSE(ec);
    // A TLS record header claiming a handshake, then noise.
    co_await send_raw(garbage, std::string("\x16\x03\x01\x00\x20", 5) + std::string(32, '\xee'));
    co_await expect_closed(garbage);

    auto bob = co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"), "bob");
    co_await say_and_hear(*alice, *bob, "alice", "nobody else noticed");
  });
  t.run();
  CHECK(log_shows(chatd, "TLS handshake with 127.0.0.1:"));
}

TEST_CASE("a flood of failed TLS handshakes is logged once every few seconds, not once each", "[tls]") {
  // With a log reader that stalls, one line per failure from anyone could
  // block chatd on stderr.
  TempDir dir;
  make_cert(dir.path);
  ChatdProcess chatd(tls_args(dir.path));
  const std::string port = tls_port(chatd);
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 40; ++i) {
      Client plain(t.io.get_executor());
      auto ec = co_await plain.connect("127.0.0.1", port);
      REQUIRE_FALSE(ec);
      co_await send(plain, request::of_type("ping"));
      co_await expect_closed(plain);
    }
  });
  t.run();
  const std::string log = chatd.log();
  std::size_t lines = 0;
  for (std::size_t at = log.find("TLS handshake with"); at != std::string::npos; at = log.find("TLS handshake with", at + 1))
    ++lines;
  INFO(log);
  CHECK(lines >= 1);
  CHECK(lines <= 2);  // the first, and one more if the run spans the interval
}

TEST_CASE("a stalled TLS handshake counts toward max_clients and is closed at the handshake timeout", "[tls]") {
  TempDir dir;
  make_cert(dir.path);
  auto args = tls_args(dir.path);
  args.insert(args.end(), {"--tls-handshake-timeout", "1500ms", "--max-clients", "2"});
  ChatdProcess chatd(args);
  const std::string port = tls_port(chatd);
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto alice = co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"), "alice");
    Client stalled(t.io.get_executor());
    auto ec = co_await stalled.connect("127.0.0.1", port);
    REQUIRE_FALSE(ec);
    const auto opened = std::chrono::steady_clock::now();

    // The second place is taken by the handshake in progress.
    auto early = co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"));
    Event refused = co_await early->hello("early", patience);
    INFO(refused.line);
    CHECK(refused.kind() == EventType::error);
    CHECK(refused.error_code() == ErrorCode::server_full);
    early.reset();  // gone: its closing connection no longer holds a place

    co_await expect_closed(stalled);
    CHECK(std::chrono::steady_clock::now() - opened >= std::chrono::milliseconds(1400));
    co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"), "late");
  });
  t.run();
  CHECK(log_shows(chatd, "timed out"));
}

TEST_CASE("SIGTERM closes TLS connections with bye and chatd exits promptly", "[tls]") {
  TempDir dir;
  make_cert(dir.path);
  ChatdProcess chatd(tls_args(dir.path));
  const std::string port = tls_port(chatd);
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto alice = co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"), "alice");
    Client stalled(t.io.get_executor());  // mid-handshake: must not hold up the exit
    auto ec = co_await stalled.connect("127.0.0.1", port);
    REQUIRE_FALSE(ec);
    chatd.signal(SIGTERM);
    co_await next_of_bye(*alice, ByeReason::shutdown);
    co_await expect_closed(*alice);
    co_await expect_closed(stalled);
  });
  t.run();
  CHECK(chatd.wait_exit(patience) == std::optional<int>(0));
}

namespace {

// A TLS 1.3 client on OpenSSL itself, over a blocking loopback socket with
// timeouts and memory BIOs, so that a test decides which bytes go out when:
// what the client library never does (requests in the same segment as the
// handshake's last flight, a KeyUpdate, a record cut in half).
class RawTlsClient {
 public:
  // receive_buffer: the socket's SO_RCVBUF when not 0.
  RawTlsClient(const std::string& port, const fs::path& ca_file, int receive_buffer = 0) {
    context_ = SSL_CTX_new(TLS_client_method());
    REQUIRE(context_);
    SSL_CTX_set_min_proto_version(context_, TLS1_3_VERSION);
    REQUIRE(SSL_CTX_load_verify_locations(context_, ca_file.c_str(), nullptr) == 1);
    SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    session_ = SSL_new(context_);
    REQUIRE(session_);
    input_ = BIO_new(BIO_s_mem());
    output_ = BIO_new(BIO_s_mem());
    SSL_set_bio(session_, input_, output_);
    SSL_set_connect_state(session_);
    SSL_set_tlsext_host_name(session_, "localhost");
    SSL_set_msg_callback(session_, &RawTlsClient::on_message);
    SSL_set_msg_callback_arg(session_, this);

    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval timeout{5, 0};  // patience: a read or write that takes longer fails the test
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (receive_buffer != 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~RawTlsClient() {
    if (fd_ >= 0) ::close(fd_);
    SSL_free(session_);
    SSL_CTX_free(context_);
  }
  RawTlsClient(const RawTlsClient&) = delete;
  RawTlsClient& operator=(const RawTlsClient&) = delete;

  // Handshakes; the client's last flight (its Finished) stays unsent until
  // the next send_pending.
  void handshake() {
    for (;;) {
      const int result = SSL_do_handshake(session_);
      if (result == 1) return;
      REQUIRE(SSL_get_error(session_, result) == SSL_ERROR_WANT_READ);
      send_pending();
      REQUIRE(receive());
    }
  }
  // Encrypts `text` as one record, sent with the next send_pending.
  void write(std::string_view text) {
    REQUIRE(SSL_write(session_, text.data(), static_cast<int>(text.size())) == static_cast<int>(text.size()));
  }
  // What is encrypted and not sent yet, taken out.
  std::string take_pending() {
    std::string bytes;
    char chunk[4096];
    for (int n; (n = BIO_read(output_, chunk, sizeof chunk)) > 0;) bytes.append(chunk, static_cast<std::size_t>(n));
    return bytes;
  }
  // Everything encrypted so far, in one send.
  void send_pending() { send_raw(take_pending()); }
  void send_raw(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      REQUIRE(n > 0);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void close_socket() {
    ::close(fd_);
    fd_ = -1;
  }

  // The next line from the server; empty if the connection ended or nothing
  // came within the socket's timeout.
  std::string read_line() {
    for (;;) {
      if (const auto end = lines_.find('\n'); end != std::string::npos) {
        std::string line = lines_.substr(0, end);
        lines_.erase(0, end + 1);
        return line;
      }
      char chunk[16384];
      const int n = SSL_read(session_, chunk, sizeof chunk);
      if (n > 0) {
        lines_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (SSL_get_error(session_, n) != SSL_ERROR_WANT_READ) return {};
      send_pending();  // whatever reading made OpenSSL answer
      if (!receive()) return {};
    }
  }
  // The next line of type `type` (skipping others), or empty.
  std::string read_line_of(std::string_view type) {
    const std::string wanted = "\"type\":\"" + std::string(type) + "\"";
    for (std::string line = read_line(); !line.empty(); line = read_line())
      if (line.find(wanted) != std::string::npos) return line;
    return {};
  }

  SSL* session() { return session_; }
  int key_updates_received() const { return key_updates_received_; }

 private:
  bool receive() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    BIO_write(input_, chunk, static_cast<int>(n));
    return true;
  }
  static void on_message(int write_p, int, int content_type, const void* buf, size_t len, SSL*, void* arg) {
    auto* self = static_cast<RawTlsClient*>(arg);
    const auto* bytes = static_cast<const unsigned char*>(buf);
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 && bytes[0] == SSL3_MT_KEY_UPDATE)
      ++self->key_updates_received_;
  }

  SSL_CTX* context_ = nullptr;
  SSL* session_ = nullptr;
  BIO* input_ = nullptr;   // owned by session_
  BIO* output_ = nullptr;  // owned by session_
  int fd_ = -1;
  std::string lines_;
  int key_updates_received_ = 0;
};

}  // namespace

TEST_CASE("requests sent in the same segment as the client's Finished are answered", "[tls]") {
  // The handshake reads them from the socket along with the Finished; the
  // connection must take them over from Asio's BIO pair.
  TempDir dir;
  make_cert(dir.path);
  ChatdProcess chatd(tls_args(dir.path));
  RawTlsClient client(tls_port(chatd), dir.path / "chatd.crt");
  client.handshake();
  client.write("{\"type\":\"hello\",\"nick\":\"early\",\"id\":1}\n{\"type\":\"ping\",\"id\":2}\n");
  client.send_pending();  // Finished, then the record of both requests, in one send
  const std::string welcome = client.read_line_of("welcome");
  INFO(chatd.log());
  CHECK(welcome.find("\"nick\":\"early\"") != std::string::npos);
  const std::string pong = client.read_line_of("pong");
  CHECK(pong.find("\"id\":2") != std::string::npos);
}

TEST_CASE("a client's KeyUpdate is answered with the server's and the chat goes on", "[tls]") {
  TempDir dir;
  make_cert(dir.path);
  ChatdProcess chatd(tls_args(dir.path));
  RawTlsClient client(tls_port(chatd), dir.path / "chatd.crt");
  client.handshake();
  client.write("{\"type\":\"hello\",\"nick\":\"rekeyed\",\"id\":1}\n");
  client.send_pending();
  REQUIRE_FALSE(client.read_line_of("welcome").empty());
  for (int round = 1; round <= 3; ++round) {
    // The KeyUpdate goes out ahead of the record of the ping.
    REQUIRE(SSL_key_update(client.session(), SSL_KEY_UPDATE_REQUESTED) == 1);
    const std::string id = std::to_string(round + 1);
    client.write("{\"type\":\"ping\",\"id\":" + id + "}\n");
    client.send_pending();
    const std::string pong = client.read_line_of("pong");
    INFO(chatd.log());
    CHECK(pong.find("\"id\":" + id) != std::string::npos);
    CHECK(client.key_updates_received() == round);
  }
}

TEST_CASE("a KeyUpdate that arrives while the server's socket to the client is full is answered in order", "[tls]") {
  // The server answers the KeyUpdate from inside SSL_read while its last
  // record to this client is still partly unsent: the answer must wait
  // behind that record, not break the session.
  TempDir dir;
  make_cert(dir.path);
  auto args = tls_args(dir.path);
  args.insert(args.end(), {"--flood-rate", "0", "--queue-bytes", "16777216"});
  ChatdProcess chatd(args);
  const std::string port = tls_port(chatd);
  RawTlsClient client(port, dir.path / "chatd.crt", 4096);
  client.handshake();
  client.write("{\"type\":\"hello\",\"nick\":\"stalled\",\"id\":1}\n");
  client.send_pending();
  REQUIRE_FALSE(client.read_line_of("welcome").empty());
  constexpr int count = 3000;  // of 1000 bytes: more than the kernel buffers hold
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto sender = co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"), "sender");
    for (int i = 0; i < count; ++i) {
      co_await send(*sender, request::say("lobby", std::string(1000, 'x')));
      Event echo = co_await sender->next_of(EventType::message, patience);
      REQUIRE_FALSE(echo.ec);
    }
  });
  t.run();
  REQUIRE(SSL_key_update(client.session(), SSL_KEY_UPDATE_REQUESTED) == 1);
  client.write("{\"type\":\"ping\",\"id\":2}\n");
  client.send_pending();
  int messages = 0;
  std::string line;
  for (line = client.read_line(); !line.empty() && line.find("\"type\":\"pong\"") == std::string::npos;
       line = client.read_line())
    if (line.find("\"type\":\"message\"") != std::string::npos) ++messages;
  INFO(chatd.log());
  CHECK(messages == count);
  CHECK(line.find("\"id\":2") != std::string::npos);
  CHECK(client.key_updates_received() == 1);
}

TEST_CASE("a TLS client that closes in the middle of a record is disconnected and others are served", "[tls]") {
  TempDir dir;
  make_cert(dir.path);
  ChatdProcess chatd(tls_args(dir.path));
  const std::string port = tls_port(chatd);
  {
    RawTlsClient client(port, dir.path / "chatd.crt");
    client.handshake();
    client.write("{\"type\":\"hello\",\"nick\":\"cut\",\"id\":1}\n");
    client.send_pending();
    REQUIRE_FALSE(client.read_line_of("welcome").empty());
    client.write("{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"never whole\"}\n");
    const std::string record = client.take_pending();
    REQUIRE(record.size() > 10);
    client.send_raw(std::string_view(record).substr(0, record.size() / 2));
    client.close_socket();
  }
  // Its place is given back (bounded wait), its half record never executed.
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (chatd.stats().at("connections") != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(chatd.stats().at("connections") == 0);
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    auto alice = co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"), "alice");
    auto bob = co_await connect_tls(t.io, port, trusting(dir.path / "chatd.crt"), "bob");
    co_await say_and_hear(*alice, *bob, "alice", "still here");
    CHECK(chatd.stats().at("clients") == 2);  // the cut client is gone
  });
  t.run();
}

TEST_CASE("a TLS client that stops reading for a while then gets every line whole and in order", "[tls]") {
  // More than the kernel buffers hold: the server's records stop in the
  // middle when the socket is full and must go on from there.
  TempDir dir;
  make_cert(dir.path);
  auto args = tls_args(dir.path);
  args.insert(args.end(), {"--flood-rate", "0", "--queue-bytes", "8388608"});
  ChatdProcess chatd(args);
  const std::string port = tls_port(chatd);
  constexpr int count = 2000;
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    TlsOptions tls = trusting(dir.path / "chatd.crt");
    auto paused = std::make_unique<Client>(t.io.get_executor());
    paused->set_receive_buffer(4096);
    paused->set_tls(tls);
    {
      auto ec = co_await paused->connect("127.0.0.1", port);
      REQUIRE_FALSE(ec);
    }
    Event welcome = co_await paused->hello("paused", patience);
    REQUIRE(welcome.kind() == EventType::welcome);
    auto sender = co_await connect_tls(t.io, port, tls, "sender");
    for (int i = 0; i < count; ++i) {
      co_await send(*sender, request::say("lobby", std::to_string(i) + std::string(1000, 'x')));
      Event echo = co_await sender->next_of(EventType::message, patience);
      REQUIRE_FALSE(echo.ec);
    }
    int next = 0;
    while (next < count) {
      Event e = co_await paused->next_of(EventType::message, patience);
      REQUIRE_FALSE(e.ec);
      if (e.value.at("from") != json::value("sender")) continue;
      const std::string text(e.value.at("text").as_string());
      REQUIRE(text == std::to_string(next) + std::string(1000, 'x'));
      ++next;
    }
  });
  t.run();
}

TEST_CASE("a TLS client that reads nothing is disconnected as a slow consumer while a reader gets everything", "[tls]") {
  TempDir dir;
  make_cert(dir.path);
  auto args = tls_args(dir.path);
  args.insert(args.end(), {"--flood-rate", "0", "--queue-bytes", "32768"});
  ChatdProcess chatd(args);
  const std::string port = tls_port(chatd);
  constexpr int count = 3000;
  const std::string text(1000, 'x');
  AsyncTest t;
  t.spawn([&]() -> asio::awaitable<void> {
    TlsOptions tls = trusting(dir.path / "chatd.crt");
    auto slow = std::make_unique<Client>(t.io.get_executor());
    slow->set_receive_buffer(4096);
    slow->set_tls(tls);
    {
      auto ec = co_await slow->connect("127.0.0.1", port);
      REQUIRE_FALSE(ec);
    }
    Event welcome = co_await slow->hello("slow", patience);
    REQUIRE(welcome.kind() == EventType::welcome);
    auto reader = co_await connect_tls(t.io, port, tls, "reader");
    auto sender = co_await connect_tls(t.io, port, tls, "sender");
    co_await expect_of(*sender, EventType::joined);
    for (int i = 0; i < count; ++i) {
      co_await send(*sender, request::say("lobby", text));
      Event echo = co_await sender->next_of(EventType::message, patience);
      REQUIRE_FALSE(echo.ec);
    }
    int received = 0;
    bool slow_left = false;
    while (received < count) {
      Event e = co_await reader->next(patience);
      REQUIRE_FALSE(e.ec);
      if (e.kind() == EventType::message) {
        REQUIRE(e.value.at("from") == "sender");
        ++received;
      } else if (e.kind() == EventType::left && e.value.at("nick") == "slow") {
        CHECK(leave_reason(e.value) == LeaveReason::slow_consumer);
        slow_left = true;
      }
    }
    CHECK(slow_left);
    // The slow client finds its connection closed long before everything was sent to it.
    int slow_messages = 0;
    for (;;) {
      Event e = co_await slow->next(patience);
      if (e.ec) break;
      if (e.kind() == EventType::message) ++slow_messages;
    }
    CHECK(slow_messages < count);
  });
  t.run();
}
