// The mergeable-token table: bytes <-> rank, with a fast open-addressing
// lookup from a byte string to its rank (the BPE inner loop).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quarry::tokenizer {

class Vocab {
 public:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;

  // `tokens[r]` are the bytes of rank r. Fails (returns false, sets `error`)
  // on duplicates or empty tokens.
  bool build(const std::vector<std::string>& tokens, std::string& error);

  uint32_t size() const {
    return static_cast<uint32_t>(offsets_.empty() ? 0 : offsets_.size() - 1);
  }
  std::string_view bytes(uint32_t rank) const {
    return std::string_view(arena_.data() + offsets_[rank], offsets_[rank + 1] - offsets_[rank]);
  }
  // Rank of the byte string, or kNone.
  uint32_t find(const char* p, size_t n) const;
  uint32_t find(std::string_view s) const { return find(s.data(), s.size()); }
  uint32_t byte_rank(unsigned char b) const { return byte_rank_[b]; }

 private:
  static uint64_t hash(const char* p, size_t n);
  std::string arena_;
  std::vector<uint32_t> offsets_;
  std::vector<uint32_t> slots_;  // rank or kNone; size is a power of two
  uint64_t mask_ = 0;
  uint32_t byte_rank_[256] = {};
};

}  // namespace quarry::tokenizer
