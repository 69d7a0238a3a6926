// The engine's KV block pool: fixed-size blocks with reference counts, plus
// the prefix cache. A full block of tokens is identified by a hash chained
// from the previous block's hash, so equal hashes mean equal prefixes (the
// tokens are compared too, so a 64-bit collision cannot serve a wrong block).
// Sequences that share a prefix share its blocks; a shared block is never
// written, since only positions past the shared prefix are computed.
//
// Unreferenced blocks are "free". Free blocks that still hold a hashed prefix
// sit in an LRU list and can be revived by a lookup; a fresh block is taken
// from the never-hashed free blocks first, then by evicting the least
// recently freed cached block (its hash is forgotten).
//
// The model's KvCache has its own free list (reserve/release); the engine
// never uses it: it owns the block ids here and fills KvSequence::blocks.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace quarry::engine {

// The hash of a full block whose predecessor's hash is `parent` (the first
// block's parent is kRootHash).
inline constexpr uint64_t kRootHash = 0x6a09e667f3bcc908ull;
uint64_t hash_block(uint64_t parent, std::span<const int32_t> tokens);
// The key of the sliding-window layers' copy of the block whose hash is `h`
// (both groups' blocks of one prefix live in the cache side by side).
uint64_t window_block_hash(uint64_t h);

class BlockManager {
 public:
  BlockManager(size_t n_blocks, size_t block_size);

  size_t n_blocks() const { return blocks_.size(); }
  size_t block_size() const { return block_size_; }
  size_t free_count() const { return fresh_.size() + lru_size_; }
  size_t cached_count() const { return lru_size_; }
  size_t used_count() const { return n_blocks() - free_count(); }
  int32_t ref_count(int32_t b) const { return blocks_[static_cast<size_t>(b)].ref; }
  bool is_hashed(int32_t b) const { return blocks_[static_cast<size_t>(b)].hashed; }

  // The blocks holding the longest cached prefix of a sequence: `hashes` are
  // its full blocks' chained hashes in order, `tokens` its tokens. Read-only.
  std::vector<int32_t> lookup(std::span<const uint64_t> hashes,
                              std::span<const int32_t> tokens) const;
  // The block holding the full block `tokens` under `hash`, or -1. Read-only.
  int32_t find(uint64_t hash, std::span<const int32_t> tokens) const;
  // How many of `blocks` are unreferenced (sharing them lowers free_count()).
  size_t count_unreferenced(std::span<const int32_t> blocks) const;
  // Takes a reference on each block (reviving cached free ones).
  void share(std::span<const int32_t> blocks);

  // A block with one reference, or -1 when every block is referenced.
  int32_t allocate();
  // Drops one reference; at zero the block becomes free (cached if hashed).
  void release(int32_t b);
  // Offers the referenced block `b`, now holding the full block `tokens`
  // with chained hash `hash`, to later lookups. Ignored when another block
  // already holds that prefix (two sequences computed it in the same step).
  void commit(int32_t b, uint64_t hash, std::span<const int32_t> tokens);

  // Checks the internal lists against the reference counts (tests).
  bool consistent() const;

 private:
  struct Block {
    int32_t ref = 0;
    bool hashed = false;
    uint64_t hash = 0;
    int32_t prev = -1, next = -1;  // LRU links while cached and free
  };
  void lru_push_back(int32_t b);
  void lru_remove(int32_t b);

  size_t block_size_;
  std::vector<Block> blocks_;
  std::vector<int32_t> tokens_;            // [block][slot]: the tokens of hashed blocks
  std::vector<int32_t> fresh_;             // free blocks without a hash, popped from the back
  int32_t lru_head_ = -1, lru_tail_ = -1;  // head: evicted first
  size_t lru_size_ = 0;
  std::unordered_map<uint64_t, int32_t> by_hash_;
};

}  // namespace quarry::engine
