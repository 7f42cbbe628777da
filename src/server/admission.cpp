#include "server/admission.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace corochat::server {

const char* to_string(Refusal refusal) {
  switch (refusal) {
    case Refusal::none: return "admitted";
    // Per network, not per address: a peer may share its limits with the
    // rest of its IPv6 prefix, and should not be told it alone is at fault.
    case Refusal::too_many_connections: return "too many connections from your network";
    case Refusal::connecting_too_fast: return "connecting too fast from your network";
    case Refusal::server_full: return "the server is full, try again later";
  }
  return "refused";
}

Admission::Key Admission::key_of(const boost::asio::ip::address& address, unsigned ipv6_prefix) {
  if (address.is_v4()) return boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, address.to_v4()).to_bytes();
  Key key = address.to_v6().to_bytes();
  if (address.to_v6().is_v4_mapped()) return key;
  const unsigned prefix = std::clamp(ipv6_prefix, 1u, 128u);
  const unsigned whole = prefix / 8;  // bytes kept whole
  if (whole == key.size()) return key;
  key[whole] &= static_cast<std::uint8_t>(0xff00u >> (prefix % 8));
  std::fill(key.begin() + whole + 1, key.end(), std::uint8_t{0});
  return key;
}

std::size_t Admission::KeyHash::operator()(const Key& key) const noexcept {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

Refusal Admission::admit(const Key& key, Clock::time_point now) {
  const bool limits_rate = config_.connect_rate > 0;
  if (config_.max_per_address == 0 && !limits_rate) {
    if (open_ >= config_.max_clients) return Refusal::server_full;
    ++open_;
    return Refusal::none;
  }
  if (blocks_.size() >= sweep_at_) forget_idle_blocks(now);
  auto [it, inserted] = blocks_.try_emplace(key, Block{0, RateLimiter(config_.connect_rate, config_.connect_burst, now), now});
  Block& block = it->second;
  if (config_.max_per_address > 0 && block.connections >= config_.max_per_address)
    return Refusal::too_many_connections;
  if (!block.connects.allow(now)) return Refusal::connecting_too_fast;
  if (limits_rate) {
    // One more token to refill, from whichever is later: now or the last refill.
    const auto refill = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / config_.connect_rate));
    block.full_again = std::max(block.full_again, now) + refill;
  }
  // After the rate, so that hammering a full server is slowed like any other.
  if (open_ >= config_.max_clients) return Refusal::server_full;
  ++block.connections;
  ++open_;
  return Refusal::none;
}

void Admission::set_limits(const AdmissionConfig& limits, Clock::time_point now) {
  config_.max_per_address = limits.max_per_address;
  config_.connect_rate = limits.connect_rate;
  config_.connect_burst = limits.connect_burst;
  for (auto& [key, block] : blocks_) {
    block.connects = RateLimiter(config_.connect_rate, config_.connect_burst, now);
    block.full_again = now;
  }
}

void Admission::release(const Key& key) {
  if (open_ > 0) --open_;
  auto it = blocks_.find(key);
  if (it == blocks_.end() || it->second.connections == 0) return;
  --it->second.connections;
}

std::size_t Admission::connections(const Key& key) const {
  auto it = blocks_.find(key);
  return it == blocks_.end() ? 0 : it->second.connections;
}

// A block with no connections and a full connect budget is the same as no
// block at all, so forgetting it changes nothing. The table then holds only
// blocks that are connected or connected recently, and the threshold grows
// with it so the sweep stays amortised.
void Admission::forget_idle_blocks(Clock::time_point now) {
  std::erase_if(blocks_, [now](const auto& entry) {
    return entry.second.connections == 0 && entry.second.full_again <= now;
  });
  sweep_at_ = std::max<std::size_t>(1024, blocks_.size() * 2);
}

}  // namespace corochat::server
