#include "server/store/history_store.hpp"

#include <openssl/sha.h>

namespace corochat::server::store {

namespace {

class StoreCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "history store"; }
  std::string message(int value) const override {
    switch (static_cast<store_errc>(value)) {
      case store_errc::closed: return "the history store is closed";
      case store_errc::full: return "no space left for the history store";
      case store_errc::io: return "the history store's storage failed to read or write";
      case store_errc::corrupt: return "the history store's data is damaged";
      case store_errc::seq_not_ascending: return "seq not above the room's last stored seq";
      case store_errc::unsupported: return "not supported by this history store";
      case store_errc::failed: return "the history store failed";
    }
    return "unknown history store error";
  }
};

}  // namespace

const std::error_category& store_category() noexcept {
  static const StoreCategory category;
  return category;
}

std::string token_hash(std::string_view token) {
  std::string hash(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         reinterpret_cast<unsigned char*>(hash.data()));
  return hash;
}

}  // namespace corochat::server::store
