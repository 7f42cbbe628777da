// chatd over TLS: certificates made at test time by scripts/make-cert.sh, the
// same protocol inside, verification by the client, reload on SIGHUP, and
// whatever is not TLS refused on the TLS port without harm to anyone else.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <openssl/evp.h>
#include <openssl/pem.h>
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
