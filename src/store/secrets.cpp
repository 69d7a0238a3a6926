#include "store/secrets.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>

namespace quarry::store::detail {

StoreResult<std::string> random_string(std::string_view alphabet, size_t length) {
  const size_t n = alphabet.size();
  if (n < 2 || n > 256) return store_error(StoreErrc::kInvalidArgument, "bad alphabet");
  // Bytes at or above `limit` are dropped, so every symbol is equally likely
  // (a plain byte % n would favour the first 256 % n symbols).
  const unsigned limit = 256 - (256 % n);
  std::string out;
  out.reserve(length);
  std::array<unsigned char, 64> buf{};
  while (out.size() < length) {
    if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
      return store_error(StoreErrc::kDatabase, "store: the system random generator failed");
    }
    for (unsigned char b : buf) {
      if (b >= limit) continue;
      out += alphabet[b % n];
      if (out.size() == length) break;
    }
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  std::string hex;
  hex.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHexLower[md[i] >> 4];
    hex += kHexLower[md[i] & 0xf];
  }
  return hex;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace quarry::store::detail
