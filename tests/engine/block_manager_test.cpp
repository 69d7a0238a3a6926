// The block pool and prefix cache on their own: reference counts, the order
// in which free blocks are reused, lookups that stop at the first miss or at
// tokens that differ, and a random sequence of operations against a simple
// model of the pool.
#include "engine/block_manager.h"

#include <gtest/gtest.h>

#include <random>

namespace quarry::engine {
namespace {

std::vector<uint64_t> chain(std::span<const int32_t> tokens, size_t bs) {
  std::vector<uint64_t> h;
  for (size_t i = 0; (i + 1) * bs <= tokens.size(); ++i) {
    h.push_back(hash_block(i == 0 ? kRootHash : h.back(), tokens.subspan(i * bs, bs)));
  }
  return h;
}

TEST(BlockManager, AllocateReleaseAndCounts) {
  BlockManager m(3, 4);
  EXPECT_EQ(m.free_count(), 3u);
  const int32_t a = m.allocate(), b = m.allocate(), c = m.allocate();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(c, 2);
  EXPECT_EQ(m.allocate(), -1);
  EXPECT_EQ(m.used_count(), 3u);
  m.release(b);
  EXPECT_EQ(m.free_count(), 1u);
  EXPECT_EQ(m.cached_count(), 0u);
  EXPECT_EQ(m.allocate(), b);
  EXPECT_TRUE(m.consistent());
}

TEST(BlockManager, PrefixLookupSharesAndRevives) {
  BlockManager m(8, 2);
  const std::vector<int32_t> t = {1, 2, 3, 4, 5, 6, 7};
  const auto h = chain(t, 2);
  ASSERT_EQ(h.size(), 3u);
  std::vector<int32_t> blocks;
  for (size_t i = 0; i < 4; ++i) blocks.push_back(m.allocate());
  for (size_t i = 0; i < 3; ++i) m.commit(blocks[i], h[i], std::span(t).subspan(i * 2, 2));

  // A live hit is shared: the reference count goes up, nothing is allocated.
  auto hit = m.lookup(h, t);
  EXPECT_EQ(hit, std::vector<int32_t>(blocks.begin(), blocks.begin() + 3));
  EXPECT_EQ(m.count_unreferenced(hit), 0u);
  m.share(hit);
  EXPECT_EQ(m.ref_count(blocks[0]), 2);
  for (int32_t b : hit) m.release(b);

  // Freed hashed blocks stay cached (and count as free) until revived.
  for (size_t i = 4; i-- > 0;) m.release(blocks[i]);
  EXPECT_EQ(m.used_count(), 0u);
  EXPECT_EQ(m.cached_count(), 3u);
  EXPECT_EQ(m.free_count(), 8u);
  hit = m.lookup(h, t);
  ASSERT_EQ(hit.size(), 3u);
  EXPECT_EQ(m.count_unreferenced(hit), 3u);
  m.share(std::span(hit).first(2));
  EXPECT_EQ(m.cached_count(), 1u);
  EXPECT_EQ(m.free_count(), 6u);
  EXPECT_TRUE(m.consistent());

  // Another prefix: the first block differs, so nothing after it can hit.
  std::vector<int32_t> u = t;
  u[0] = 9;
  EXPECT_TRUE(m.lookup(chain(u, 2), u).empty());
  // Same first block, different second one: one hit.
  u = t;
  u[3] = 9;
  EXPECT_EQ(m.lookup(chain(u, 2), u).size(), 1u);
}

TEST(BlockManager, FreshBlocksFirstThenLeastRecentlyFreedCached) {
  BlockManager m(4, 1);
  const std::vector<int32_t> t = {10, 11, 12};
  const auto h = chain(t, 1);
  std::vector<int32_t> b;
  for (size_t i = 0; i < 3; ++i) {
    b.push_back(m.allocate());
    m.commit(b[i], h[i], std::span(t).subspan(i, 1));
  }
  // Free in reverse (as the scheduler does): the tail is evicted first.
  for (size_t i = 3; i-- > 0;) m.release(b[i]);
  EXPECT_EQ(m.cached_count(), 3u);
  const int32_t fresh = m.allocate();
  EXPECT_EQ(fresh, 3);  // the never-used block before any cached one
  EXPECT_EQ(m.cached_count(), 3u);
  EXPECT_EQ(m.allocate(), b[2]);  // evicts the last block of the prefix
  EXPECT_FALSE(m.is_hashed(b[2]));
  EXPECT_EQ(m.cached_count(), 2u);
  EXPECT_EQ(m.lookup(h, t).size(), 2u);
  EXPECT_TRUE(m.consistent());
}

TEST(BlockManager, DuplicateCommitsAndForgedHashesAreIgnored) {
  BlockManager m(4, 2);
  const std::vector<int32_t> t = {1, 2};
  const uint64_t h = hash_block(kRootHash, t);
  const int32_t a = m.allocate(), b = m.allocate();
  m.commit(a, h, t);
  m.commit(b, h, t);  // same content computed twice in one step
  EXPECT_TRUE(m.is_hashed(a));
  EXPECT_FALSE(m.is_hashed(b));
  m.release(b);
  EXPECT_EQ(m.cached_count(), 0u);
  // A lookup whose hash matches but whose tokens do not is a miss.
  const std::vector<int32_t> other = {3, 4};
  const uint64_t hs[] = {h};
  EXPECT_TRUE(m.lookup(hs, other).empty());
  EXPECT_EQ(m.lookup(hs, t).size(), 1u);
  EXPECT_TRUE(m.consistent());
}

TEST(BlockManager, RandomOperationsKeepCountsConsistent) {
  std::mt19937 rng(3);
  BlockManager m(16, 2);
  std::vector<std::vector<int32_t>> held;  // blocks per fake sequence
  std::vector<std::vector<int32_t>> content;
  for (int step = 0; step < 5000; ++step) {
    const unsigned op = rng() % 3;
    if (op == 0 || held.empty()) {
      // A sequence of 1..4 blocks over one of a few prompts: shares hits,
      // allocates the rest, commits its full blocks.
      std::vector<int32_t> t(2 * (1 + rng() % 4));
      const int32_t family = static_cast<int32_t>(rng() % 3);
      for (size_t i = 0; i < t.size(); ++i) t[i] = family * 100 + static_cast<int32_t>(i % 5);
      if (rng() % 2) t.back() = static_cast<int32_t>(rng() % 7);
      const auto h = chain(t, 2);
      auto hit = m.lookup(h, t);
      const size_t need = h.size() - hit.size();
      if (need > m.free_count() - m.count_unreferenced(hit)) continue;
      m.share(hit);
      std::vector<int32_t> blocks = hit;
      for (size_t i = 0; i < need; ++i) blocks.push_back(m.allocate());
      for (size_t i = 0; i < blocks.size(); ++i) {
        ASSERT_GE(blocks[i], 0);
        m.commit(blocks[i], h[i], std::span(t).subspan(i * 2, 2));
      }
      held.push_back(blocks);
      content.push_back(t);
    } else {
      const size_t k = rng() % held.size();
      for (size_t i = held[k].size(); i-- > 0;) m.release(held[k][i]);
      held.erase(held.begin() + static_cast<ptrdiff_t>(k));
      content.erase(content.begin() + static_cast<ptrdiff_t>(k));
    }
    ASSERT_TRUE(m.consistent()) << "step " << step;
    std::vector<int> refs(16, 0);
    for (const auto& s : held) {
      for (int32_t b : s) ++refs[static_cast<size_t>(b)];
    }
    for (int32_t b = 0; b < 16; ++b) ASSERT_EQ(m.ref_count(b), refs[static_cast<size_t>(b)]);
  }
  for (const auto& s : held) {
    for (size_t i = s.size(); i-- > 0;) m.release(s[i]);
  }
  EXPECT_EQ(m.used_count(), 0u);
  EXPECT_TRUE(m.consistent());
}

}  // namespace
}  // namespace quarry::engine
