// Internal to the store: random strings from the OS CSPRNG (OpenSSL
// RAND_bytes), SHA-256, and a comparison that does not leak timing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "store/errors.h"

namespace quarry::store::detail {

inline constexpr std::string_view kUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
inline constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// AWS secret keys use this alphabet; 64 symbols make each char exactly 6 bits.
inline constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
inline constexpr std::string_view kHexLower = "0123456789abcdef";

// `length` characters drawn uniformly from `alphabet` (2..256 symbols).
StoreResult<std::string> random_string(std::string_view alphabet, size_t length);

// Lower-case hex SHA-256.
std::string sha256_hex(std::string_view data);

// Equal lengths and bytes; the time taken does not depend on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace quarry::store::detail
