// Who may open a connection: at most so many at once per network, new ones
// no faster than a rate per network, and at most max_clients in all. Pure
// (time is passed in); the listener asks before it gives a connection a
// session.
//
// A network is an IPv6 prefix, /64 by default, the block one subscriber
// usually gets, so a peer cannot escape the limit by walking its own prefix
// (a LAN whose hosts share a /64 sets a longer one). IPv4 (also when it
// arrives v4-mapped on a dual-stack socket) is grouped by the whole address.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

#include "server/rate_limiter.hpp"

namespace corochat::server {

struct AdmissionConfig {
  std::size_t max_per_address = 16;  // 0: no limit
  double connect_rate = 4;           // new connections a second per address; 0: no limit
  double connect_burst = 16;         // ...allowed at once above the rate
  unsigned ipv6_prefix = 64;         // bits of an IPv6 address that make its network: 1..128
  std::size_t max_clients = SIZE_MAX;  // open at once from all addresses, TLS handshakes included
};

enum class Refusal { none, too_many_connections, connecting_too_fast, server_full };
const char* to_string(Refusal refusal);

class Admission {
 public:
  using Clock = RateLimiter::Clock;
  // The address block a connection counts against: 16 bytes, an IPv4 address
  // in its v4-mapped form, an IPv6 address with the bits past its prefix zeroed.
  using Key = std::array<std::uint8_t, 16>;
  static Key key_of(const boost::asio::ip::address& address, unsigned ipv6_prefix);
  static constexpr bool valid_ipv6_prefix(std::size_t bits) { return bits >= 1 && bits <= 128; }
  // The block of a peer's address, with the configured prefix.
  Key network_of(const boost::asio::ip::address& address) const { return key_of(address, config_.ipv6_prefix); }

  explicit Admission(AdmissionConfig config) : config_(config) {}

  // Counts the connection in when it may open; release() it when it ends.
  Refusal admit(const Key& key, Clock::time_point now);
  void release(const Key& key);

  // New per-network limits (max_per_address, connect_rate, connect_burst;
  // the prefix and max_clients stay), on reload. Connections counted so far
  // stay counted; each network's connect budget starts full at the new rate.
  // While the per-network limits were off, connections were not counted per
  // network: switched on, they count those opened from then on.
  void set_limits(const AdmissionConfig& limits, Clock::time_point now);

  std::size_t connections(const Key& key) const;
  std::size_t open() const { return open_; }  // from all addresses
  // Address blocks remembered: those with connections, and those whose
  // connect budget is still refilling.
  std::size_t tracked() const { return blocks_.size(); }

 private:
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };
  struct Block {
    std::size_t connections = 0;
    RateLimiter connects;
    Clock::time_point full_again;  // when its connect budget has refilled
  };
  void forget_idle_blocks(Clock::time_point now);

  AdmissionConfig config_;
  std::unordered_map<Key, Block, KeyHash> blocks_;
  std::size_t sweep_at_ = 1024;  // forget idle blocks when the table reaches this size
  std::size_t open_ = 0;          // admitted and not yet released
};

// Holds one admitted connection's place; gives it back when destroyed.
class AdmissionTicket {
 public:
  AdmissionTicket() = default;
  AdmissionTicket(std::shared_ptr<Admission> admission, Admission::Key key)
      : admission_(std::move(admission)), key_(key) {}
  AdmissionTicket(AdmissionTicket&& other) noexcept = default;
  // The block the place was taken in: the connection's network.
  const Admission::Key& key() const { return key_; }
  AdmissionTicket& operator=(AdmissionTicket&& other) noexcept {
    if (this != &other) {
      give_back();
      admission_ = std::move(other.admission_);
      key_ = other.key_;
    }
    return *this;
  }
  ~AdmissionTicket() { give_back(); }

 private:
  void give_back() {
    if (admission_) admission_->release(key_);
    admission_.reset();
  }
  std::shared_ptr<Admission> admission_;
  Admission::Key key_{};
};

}  // namespace corochat::server
