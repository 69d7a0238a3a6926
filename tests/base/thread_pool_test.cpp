#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <numeric>
#include <set>
#include <vector>

namespace quarry {
namespace {

TEST(ThreadPool, ChunksCoverTheRangeOnGrainBoundaries) {
  for (size_t n : {0u, 1u, 5u, 16u, 17u, 1000u}) {
    for (size_t threads : {1u, 2u, 3u, 8u}) {
      for (size_t grain : {1u, 4u, 16u}) {
        size_t expect = 0;
        for (size_t i = 0; i < threads; ++i) {
          const auto [b, e] = ThreadPool::chunk(n, grain, i, threads);
          EXPECT_EQ(b, expect) << n << " " << threads << " " << grain;
          EXPECT_LE(b, e);
          if (e != n) {
            EXPECT_EQ(e % grain, 0u);
          }
          expect = e;
        }
        EXPECT_EQ(expect, n);
      }
    }
  }
}

TEST(ThreadPool, EveryIndexOnceAndManyRounds) {
  for (size_t threads : {1u, 2u, 4u}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    std::vector<std::atomic<int>> hits(1013);
    for (int round = 0; round < 300; ++round) {
      const size_t n = 1 + (round * 7919) % hits.size();
      pool.parallel_for(n, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
      });
    }
    long total = 0;
    for (auto& h : hits) total += h.load();
    long want = 0;
    for (int round = 0; round < 300; ++round) want += 1 + (round * 7919) % hits.size();
    EXPECT_EQ(total, want) << threads;
  }
}

TEST(ThreadPool, UsesAllThreadsAndNestedCallsRunInline) {
  ThreadPool pool(3);
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<size_t> inner{0};
  pool.parallel_for(3, [&](size_t b, size_t e) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
    }
    for (size_t i = b; i < e; ++i) {
      pool.parallel_for(10, [&](size_t ib, size_t ie) { inner += ie - ib; });
    }
  });
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(inner.load(), 30u);
}

TEST(ThreadPool, GrainKeepsChunksAligned) {
  ThreadPool pool(2);
  std::vector<int> owner(100, -1);
  std::atomic<int> next{0};
  pool.parallel_for(100, 16, [&](size_t b, size_t e) {
    EXPECT_EQ(b % 16, 0u);
    const int me = next++;
    for (size_t i = b; i < e; ++i) owner[i] = me;
  });
  for (int o : owner) EXPECT_GE(o, 0);
}

}  // namespace
}  // namespace quarry
