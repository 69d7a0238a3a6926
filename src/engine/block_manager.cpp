#include "engine/block_manager.h"

#include <algorithm>

namespace quarry::engine {
namespace {

// splitmix64's finaliser: every input bit affects every output bit.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

uint64_t hash_block(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = mix(parent + 0x9e3779b97f4a7c15ull);
  for (int32_t t : tokens) h = mix(h ^ static_cast<uint32_t>(t)) + 0x9e3779b97f4a7c15ull;
  return h;
}

uint64_t window_block_hash(uint64_t h) { return mix(h ^ 0x243f6a8885a308d3ull); }

BlockManager::BlockManager(size_t n_blocks, size_t block_size)
    : block_size_(std::max<size_t>(1, block_size)),
      blocks_(n_blocks),
      tokens_(n_blocks * block_size_, -1) {
  // Popped from the back: block 0 is handed out first (easier to read in tests).
  fresh_.reserve(n_blocks);
  for (size_t b = n_blocks; b-- > 0;) fresh_.push_back(static_cast<int32_t>(b));
}

int32_t BlockManager::find(uint64_t hash, std::span<const int32_t> tokens) const {
  const auto it = by_hash_.find(hash);
  if (it == by_hash_.end() || tokens.size() != block_size_) return -1;
  const auto have = std::span<const int32_t>(tokens_).subspan(
      static_cast<size_t>(it->second) * block_size_, block_size_);
  return std::equal(tokens.begin(), tokens.end(), have.begin()) ? it->second : -1;
}

std::vector<int32_t> BlockManager::lookup(std::span<const uint64_t> hashes,
                                          std::span<const int32_t> tokens) const {
  std::vector<int32_t> hit;
  for (size_t i = 0; i < hashes.size() && (i + 1) * block_size_ <= tokens.size(); ++i) {
    const int32_t b = find(hashes[i], tokens.subspan(i * block_size_, block_size_));
    if (b < 0) break;
    hit.push_back(b);
  }
  return hit;
}

size_t BlockManager::count_unreferenced(std::span<const int32_t> blocks) const {
  size_t n = 0;
  for (int32_t b : blocks) n += ref_count(b) == 0 ? 1 : 0;
  return n;
}

void BlockManager::share(std::span<const int32_t> blocks) {
  for (int32_t b : blocks) {
    Block& k = blocks_[static_cast<size_t>(b)];
    // Only hashed blocks are found by lookup, so a free one is in the LRU list.
    if (k.ref == 0) lru_remove(b);
    ++k.ref;
  }
}

int32_t BlockManager::allocate() {
  int32_t b = -1;
  if (!fresh_.empty()) {
    b = fresh_.back();
    fresh_.pop_back();
  } else if (lru_head_ >= 0) {
    b = lru_head_;
    lru_remove(b);
    Block& k = blocks_[static_cast<size_t>(b)];
    by_hash_.erase(k.hash);
    k.hashed = false;
  } else {
    return -1;
  }
  blocks_[static_cast<size_t>(b)].ref = 1;
  return b;
}

void BlockManager::release(int32_t b) {
  Block& k = blocks_[static_cast<size_t>(b)];
  if (--k.ref > 0) return;
  if (k.hashed) {
    lru_push_back(b);
  } else {
    fresh_.push_back(b);
  }
}

void BlockManager::commit(int32_t b, uint64_t hash, std::span<const int32_t> tokens) {
  Block& k = blocks_[static_cast<size_t>(b)];
  if (k.hashed || tokens.size() != block_size_) return;
  if (!by_hash_.emplace(hash, b).second) return;
  k.hashed = true;
  k.hash = hash;
  std::copy(tokens.begin(), tokens.end(),
            tokens_.begin() + static_cast<ptrdiff_t>(b) * static_cast<ptrdiff_t>(block_size_));
}

void BlockManager::lru_push_back(int32_t b) {
  Block& k = blocks_[static_cast<size_t>(b)];
  k.prev = lru_tail_;
  k.next = -1;
  if (lru_tail_ >= 0) {
    blocks_[static_cast<size_t>(lru_tail_)].next = b;
  } else {
    lru_head_ = b;
  }
  lru_tail_ = b;
  ++lru_size_;
}

void BlockManager::lru_remove(int32_t b) {
  Block& k = blocks_[static_cast<size_t>(b)];
  if (k.prev >= 0) {
    blocks_[static_cast<size_t>(k.prev)].next = k.next;
  } else {
    lru_head_ = k.next;
  }
  if (k.next >= 0) {
    blocks_[static_cast<size_t>(k.next)].prev = k.prev;
  } else {
    lru_tail_ = k.prev;
  }
  k.prev = k.next = -1;
  --lru_size_;
}

bool BlockManager::consistent() const {
  size_t in_lru = 0;
  for (int32_t b = lru_head_; b >= 0; b = blocks_[static_cast<size_t>(b)].next) {
    const Block& k = blocks_[static_cast<size_t>(b)];
    if (k.ref != 0 || !k.hashed || ++in_lru > blocks_.size()) return false;
  }
  if (in_lru != lru_size_) return false;
  for (int32_t b : fresh_) {
    const Block& k = blocks_[static_cast<size_t>(b)];
    if (k.ref != 0 || k.hashed) return false;
  }
  size_t free = 0, hashed = 0;
  for (const Block& k : blocks_) {
    if (k.ref < 0) return false;
    free += k.ref == 0 ? 1 : 0;
    hashed += k.hashed ? 1 : 0;
  }
  return free == free_count() && hashed == by_hash_.size();
}

}  // namespace quarry::engine
