// The bench payload: exactly N printable ASCII bytes that carry who sent a
// message, its number and when, so a receiver can measure latency and detect
// loss, duplicates, reordering and corruption without any shared state.
//
// Layout (lowercase hex, fixed width):
//   "cb" publisher(4) seq(12) send_ns(16) check(8) filler...
// check is a hash of the fields before it; the filler is a pseudo-random
// sequence of [0-9A-Za-z] seeded by check, so any changed byte is caught.
// No quote, backslash, space or line break: the text passes unchanged through
// JSON strings, IRC trailing parameters, RESP and NATS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace corochat::bench {

inline constexpr std::size_t payload_header_size = 2 + 4 + 12 + 16 + 8;
inline constexpr std::uint64_t max_publisher = 0xffff;

struct PayloadHeader {
  std::uint32_t publisher = 0;
  std::uint64_t seq = 0;      // per publisher, from 0
  std::uint64_t send_ns = 0;  // steady clock
  friend bool operator==(const PayloadHeader&, const PayloadHeader&) = default;
};

// Writes the payload into out[0, size); size >= payload_header_size.
void encode_payload(char* out, std::size_t size, const PayloadHeader& header);

// The header when `payload` is intact (size included), nothing when corrupt.
std::optional<PayloadHeader> decode_payload(std::string_view payload, std::size_t expected_size);

}  // namespace corochat::bench
