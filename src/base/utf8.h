// UTF-8 helpers shared by the tokenizer, harmony and the API layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace quarry::utf8 {

// Length of the longest prefix of `s` made of complete, valid UTF-8 sequences
// followed (optionally) by an incomplete but so-far-valid trailing sequence.
// Returns the index where that incomplete tail starts (== s.size() if none).
// Invalid bytes before the tail are counted as part of the prefix.
size_t complete_prefix_len(std::string_view s);

// True if `s` is entirely valid UTF-8 (no surrogates, no overlongs, <= U+10FFFF).
bool is_valid(std::string_view s);

// Converts bytes to valid UTF-8, replacing each maximal invalid subpart with
// U+FFFD (the WHATWG / Unicode "maximal subpart" rule, as Rust's from_utf8_lossy).
std::string to_valid_lossy(std::string_view s);

// Decodes one code point at s[i]; on success sets `cp` and returns the length
// (1..4). Returns 0 for an invalid or truncated sequence.
int decode_one(std::string_view s, size_t i, uint32_t& cp);

// Appends the UTF-8 encoding of `cp` to `out`.
void append(std::string& out, uint32_t cp);

}  // namespace quarry::utf8
