#include "tokenizer/vocab.h"

#include <cstring>

namespace quarry::tokenizer {

uint64_t Vocab::hash(const char* p, size_t n) {
  // 64-bit multiply-mix over 8-byte words; tokens are short (avg ~7 bytes).
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 32;
  return h;
}

bool Vocab::build(const std::vector<std::string>& tokens, std::string& error) {
  arena_.clear();
  offsets_.assign(1, 0);
  size_t total = 0;
  for (const auto& t : tokens) total += t.size();
  arena_.reserve(total);
  for (const auto& t : tokens) {
    arena_.append(t);
    offsets_.push_back(static_cast<uint32_t>(arena_.size()));
  }
  size_t cap = 1;
  while (cap < tokens.size() * 2 + 16) cap <<= 1;
  slots_.assign(cap, kNone);
  mask_ = cap - 1;
  for (auto& r : byte_rank_) r = kNone;
  for (uint32_t r = 0; r < tokens.size(); ++r) {
    const std::string& t = tokens[r];
    if (t.empty()) {
      error = "token " + std::to_string(r) + " is empty";
      return false;
    }
    uint64_t i = hash(t.data(), t.size()) & mask_;
    while (slots_[i] != kNone) {
      if (bytes(slots_[i]) == t) {
        error = "tokens " + std::to_string(slots_[i]) + " and " + std::to_string(r) +
                " have the same bytes";
        return false;
      }
      i = (i + 1) & mask_;
    }
    slots_[i] = r;
    if (t.size() == 1) byte_rank_[static_cast<unsigned char>(t[0])] = r;
  }
  for (int b = 0; b < 256; ++b) {
    if (byte_rank_[b] == kNone) {
      error = "byte 0x" + std::string(1, "0123456789abcdef"[b >> 4]) +
              std::string(1, "0123456789abcdef"[b & 15]) + " has no token";
      return false;
    }
  }
  return true;
}

uint32_t Vocab::find(const char* p, size_t n) const {
  uint64_t i = hash(p, n) & mask_;
  for (;;) {
    const uint32_t r = slots_[i];
    if (r == kNone) return kNone;
    const uint32_t off = offsets_[r];
    if (offsets_[r + 1] - off == n && std::memcmp(arena_.data() + off, p, n) == 0) return r;
    i = (i + 1) & mask_;
  }
}

}  // namespace quarry::tokenizer
