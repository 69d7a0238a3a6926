// The few cryptographic primitives SigV4 needs (SHA-256, HMAC-SHA256, hex,
// constant-time comparison), wrapped around OpenSSL so that no OpenSSL types
// leak into the rest of quarry.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace quarry::aws {

using Digest = std::array<uint8_t, 32>;

Digest sha256(std::string_view data);
Digest hmac_sha256(std::string_view key, std::string_view data);

// Lower-case hex of arbitrary bytes / of a digest.
std::string hex_lower(std::string_view bytes);
std::string hex_lower(const Digest& d);

// Lower-case hex SHA-256 of `data` (the SigV4 "HashedPayload" form).
std::string sha256_hex(std::string_view data);

// True when `s` is exactly 64 hex digits; `lower_only` rejects A-F.
bool is_hex64(std::string_view s, bool lower_only);

// Equality whose running time depends only on the lengths, never on where the
// first difference is, so a signature cannot be guessed byte by byte.
bool constant_time_equal(std::string_view a, std::string_view b);

// View a digest as bytes (for feeding one HMAC's output into the next).
inline std::string_view as_view(const Digest& d) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace quarry::aws
