#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "server/admission.hpp"

using namespace corochat::server;
using namespace std::chrono_literals;
namespace ip = boost::asio::ip;

namespace {

using Clock = Admission::Clock;
const Clock::time_point t0{};

Admission::Key key(const char* address, unsigned ipv6_prefix = 64) {
  return Admission::key_of(ip::make_address(address), ipv6_prefix);
}

int admitted(Admission& admission, const Admission::Key& k, Clock::time_point when, int n) {
  int count = 0;
  for (int i = 0; i < n; ++i)
    if (admission.admit(k, when) == Refusal::none) ++count;
  return count;
}

}  // namespace

TEST_CASE("admission: IPv6 addresses count by /64, IPv4 by address", "[admission]") {
  CHECK(key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
  CHECK(key("2001:db8:1:2::1") != key("2001:db8:1:3::1"));
  CHECK(key("192.0.2.1") != key("192.0.2.2"));
  // A v4-mapped address on a dual-stack socket is the same peer as plain IPv4.
  CHECK(key("::ffff:192.0.2.1") == key("192.0.2.1"));
  // ...and not lumped in with the rest of ::ffff:0:0/96.
  CHECK(key("::ffff:192.0.2.1") != key("::ffff:192.0.2.2"));
}

TEST_CASE("admission: --ipv6-prefix sets how IPv6 addresses are grouped", "[admission]") {
  // /128: two hosts of one /64 (a LAN with SLAAC) are two networks.
  CHECK(key("2001:db8:1:2::1", 128) != key("2001:db8:1:2::2", 128));
  CHECK(key("2001:db8:1:2::1", 128) == key("2001:db8:1:2::1", 128));
  // /56: two /64s of one subscriber's /56 are one network, the next /56 is not.
  CHECK(key("2001:db8:1:200::1", 56) == key("2001:db8:1:2ff:ffff::1", 56));
  CHECK(key("2001:db8:1:200::1", 56) != key("2001:db8:1:300::1", 56));
  // A prefix that is not whole bytes: /61 keeps the top 5 bits of byte 7.
  CHECK(key("2001:db8:1:8::1", 61) == key("2001:db8:1:f::1", 61));
  CHECK(key("2001:db8:1:8::1", 61) != key("2001:db8:1:10::1", 61));
  // IPv4, plain or v4-mapped, is one address whatever the prefix.
  for (unsigned prefix : {1u, 56u, 64u, 128u}) {
    CHECK(key("192.0.2.1", prefix) != key("192.0.2.2", prefix));
    CHECK(key("::ffff:192.0.2.1", prefix) == key("192.0.2.1", prefix));
  }
  // The configured prefix is what an Admission counts by.
  Admission lan({.max_per_address = 1, .connect_rate = 0, .connect_burst = 1, .ipv6_prefix = 128});
  const auto host1 = lan.network_of(ip::make_address("2001:db8:1:2::1"));
  const auto host2 = lan.network_of(ip::make_address("2001:db8:1:2::2"));
  CHECK(lan.admit(host1, t0) == Refusal::none);
  CHECK(lan.admit(host2, t0) == Refusal::none);  // with /64 this one was refused
  CHECK(lan.admit(host1, t0) == Refusal::too_many_connections);
  Admission public_port({.max_per_address = 1, .connect_rate = 0, .connect_burst = 1});
  CHECK(public_port.network_of(ip::make_address("2001:db8:1:2::1")) ==
        public_port.network_of(ip::make_address("2001:db8:1:2::2")));
}

TEST_CASE("admission: --ipv6-prefix takes 1 to 128", "[admission]") {
  CHECK_FALSE(Admission::valid_ipv6_prefix(0));
  CHECK(Admission::valid_ipv6_prefix(1));
  CHECK(Admission::valid_ipv6_prefix(64));
  CHECK(Admission::valid_ipv6_prefix(128));
  CHECK_FALSE(Admission::valid_ipv6_prefix(129));
}

TEST_CASE("admission: a refusal speaks of the network, not one address", "[admission]") {
  CHECK(std::string(to_string(Refusal::too_many_connections)) == "too many connections from your network");
  CHECK(std::string(to_string(Refusal::connecting_too_fast)) == "connecting too fast from your network");
}

TEST_CASE("admission: at most max_per_address open at once, a place freed is reusable", "[admission]") {
  Admission admission({.max_per_address = 3, .connect_rate = 0, .connect_burst = 1});
  const auto a = key("192.0.2.1");
  CHECK(admitted(admission, a, t0, 5) == 3);
  CHECK(admission.admit(a, t0) == Refusal::too_many_connections);
  CHECK(admission.connections(a) == 3);
  // Another address is not affected.
  CHECK(admission.admit(key("192.0.2.2"), t0) == Refusal::none);

  admission.release(a);
  CHECK(admission.admit(a, t0) == Refusal::none);
  CHECK(admission.admit(a, t0) == Refusal::too_many_connections);
}

TEST_CASE("admission: new connections per address are rate limited", "[admission]") {
  Admission admission({.max_per_address = 0, .connect_rate = 2, .connect_burst = 4});
  const auto a = key("2001:db8::1");
  CHECK(admitted(admission, a, t0, 10) == 4);
  CHECK(admission.admit(a, t0) == Refusal::connecting_too_fast);
  // A neighbour in the same /64 shares the budget; another /64 does not.
  CHECK(admission.admit(key("2001:db8::2"), t0) == Refusal::connecting_too_fast);
  CHECK(admission.admit(key("2001:db8:0:1::1"), t0) == Refusal::none);
  // Half a second refills one.
  CHECK(admitted(admission, a, t0 + 500ms, 3) == 1);
}

TEST_CASE("admission: zero disables both limits", "[admission]") {
  Admission admission({.max_per_address = 0, .connect_rate = 0, .connect_burst = 1});
  CHECK(admitted(admission, key("127.0.0.1"), t0, 10000) == 10000);
  CHECK(admission.tracked() == 0);
}

TEST_CASE("admission: tickets give their place back once", "[admission]") {
  auto admission = std::make_shared<Admission>(AdmissionConfig{.max_per_address = 1, .connect_rate = 0, .connect_burst = 1});
  const auto a = key("192.0.2.7");
  REQUIRE(admission->admit(a, t0) == Refusal::none);
  {
    AdmissionTicket ticket(admission, a);
    AdmissionTicket moved = std::move(ticket);  // the moved-from ticket gives nothing back
    CHECK(admission->admit(a, t0) == Refusal::too_many_connections);
  }
  CHECK(admission->connections(a) == 0);
  CHECK(admission->admit(a, t0) == Refusal::none);
}

TEST_CASE("admission: idle address blocks are forgotten, so the table stays bounded", "[admission]") {
  Admission admission({.max_per_address = 4, .connect_rate = 10, .connect_burst = 2});
  // Many addresses connect once and leave.
  for (int i = 0; i < 5000; ++i) {
    const auto k = key(("2001:db8:" + std::to_string(i) + "::1").c_str());
    REQUIRE(admission.admit(k, t0) == Refusal::none);
    admission.release(k);
  }
  // Their budgets refill within 100 ms; the table's growth a second later
  // sweeps them away.
  const auto later = t0 + 1s;
  const auto a = key("192.0.2.1");
  for (int i = 0; i < 4000; ++i) {
    const auto k = key(("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250)).c_str());
    REQUIRE(admission.admit(k, later) == Refusal::none);
    admission.release(k);
  }
  CHECK(admission.tracked() < 5000);  // of the 9000 seen
  // A connected address is never forgotten, whatever the sweep does.
  REQUIRE(admission.admit(a, later) == Refusal::none);
  for (int i = 0; i < 3000; ++i) {
    const auto k = key(("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250)).c_str());
    (void)admission.admit(k, later + 1s);
    admission.release(k);
  }
  CHECK(admission.connections(a) == 1);
}

TEST_CASE("admission: at most max_clients open from all addresses, and refusals hold no place", "[admission]") {
  for (const double rate : {0.0, 100.0}) {  // with and without per-address limits
    Admission admission({.max_per_address = 0, .connect_rate = rate, .connect_burst = 100, .max_clients = 2});
    CHECK(admission.admit(key("192.0.2.1"), t0) == Refusal::none);
    CHECK(admission.admit(key("192.0.2.2"), t0) == Refusal::none);
    CHECK(admission.admit(key("192.0.2.3"), t0) == Refusal::server_full);
    CHECK(admission.admit(key("192.0.2.3"), t0) == Refusal::server_full);
    CHECK(admission.open() == 2);
    CHECK(admission.connections(key("192.0.2.3")) == 0);
    admission.release(key("192.0.2.1"));
    CHECK(admission.open() == 1);
    CHECK(admission.admit(key("192.0.2.3"), t0) == Refusal::none);
    CHECK(admission.admit(key("192.0.2.4"), t0) == Refusal::server_full);
  }
}

TEST_CASE("admission: new limits apply to the next connection and keep the ones counted", "[admission]") {
  Admission admission(AdmissionConfig{.max_per_address = 1, .connect_rate = 0});
  const auto alice = key("192.0.2.1");
  CHECK(admitted(admission, alice, t0, 3) == 1);
  admission.set_limits(AdmissionConfig{.max_per_address = 3, .connect_rate = 0}, t0);
  CHECK(admitted(admission, alice, t0, 5) == 2);  // the one open still counts
  CHECK(admission.connections(alice) == 3);
  admission.set_limits(AdmissionConfig{.max_per_address = 0, .connect_rate = 1, .connect_burst = 2}, t0 + 1s);
  CHECK(admitted(admission, key("192.0.2.2"), t0 + 1s, 5) == 2);  // the new burst
  CHECK(admitted(admission, alice, t0 + 1s, 5) == 2);  // a full budget at the new rate
}
