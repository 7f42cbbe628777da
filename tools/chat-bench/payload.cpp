#include "payload.hpp"

#include <cstring>

namespace corochat::bench {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";
constexpr char filler_alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void put_hex(char* out, std::uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = hex_digits[value & 0xf];
    value >>= 4;
  }
}

bool get_hex(const char* in, int width, std::uint64_t& value) {
  value = 0;
  for (int i = 0; i < width; ++i) {
    const char c = in[i];
    std::uint64_t digit;
    if (c >= '0' && c <= '9') digit = static_cast<std::uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') digit = static_cast<std::uint64_t>(c - 'a' + 10);
    else return false;
    value = (value << 4) | digit;
  }
  return true;
}

// FNV-1a over the header fields, 32 bits.
std::uint32_t header_check(const char* header, std::size_t n) {
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(header[i]);
    h *= 16777619u;
  }
  return h;
}

// The filler byte i for a seed: a linear congruential sequence.
struct Filler {
  std::uint32_t state;
  char next() {
    state = state * 1664525u + 1013904223u;
    return filler_alphabet[(state >> 24) % 62];
  }
};

constexpr std::size_t check_at = payload_header_size - 8;

}  // namespace

void encode_payload(char* out, std::size_t size, const PayloadHeader& header) {
  out[0] = 'c';
  out[1] = 'b';
  put_hex(out + 2, header.publisher, 4);
  put_hex(out + 6, header.seq, 12);
  put_hex(out + 18, header.send_ns, 16);
  const std::uint32_t check = header_check(out, check_at);
  put_hex(out + check_at, check, 8);
  Filler filler{check};
  for (std::size_t i = payload_header_size; i < size; ++i) out[i] = filler.next();
}

std::optional<PayloadHeader> decode_payload(std::string_view payload, std::size_t expected_size) {
  if (payload.size() != expected_size || payload.size() < payload_header_size) return std::nullopt;
  const char* p = payload.data();
  if (p[0] != 'c' || p[1] != 'b') return std::nullopt;
  std::uint64_t publisher, seq, send_ns, check;
  if (!get_hex(p + 2, 4, publisher) || !get_hex(p + 6, 12, seq) || !get_hex(p + 18, 16, send_ns) ||
      !get_hex(p + check_at, 8, check))
    return std::nullopt;
  if (check != header_check(p, check_at)) return std::nullopt;
  Filler filler{static_cast<std::uint32_t>(check)};
  for (std::size_t i = payload_header_size; i < payload.size(); ++i)
    if (p[i] != filler.next()) return std::nullopt;
  return PayloadHeader{static_cast<std::uint32_t>(publisher), seq, send_ns};
}

}  // namespace corochat::bench
