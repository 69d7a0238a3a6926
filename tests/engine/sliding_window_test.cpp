// Sliding-window layers keep only their window: the scheduler gives each
// sequence a second block table for them and drops blocks that fell out of
// the window after every step. Outputs still equal the fake's greedy tokens
// (its logits hash what it reads through both tables), a sequence holds a
// bounded number of window blocks however long it gets, the pool fits
// sequences that two full tables could not, and the prefix cache still hits
// (the window copies of a prefix's last blocks are cached beside it).
#include <gtest/gtest.h>

#include <random>

#include "sim.h"

namespace quarry::engine {
namespace {

using testing::concat;
using testing::make_prompt;
using testing::Sim;

TEST(SlidingWindow, LongSequenceHoldsOnlyItsWindow) {
  EngineOptions o;
  o.max_batch_tokens = 6;
  Sim sim(64, 4, o, 8);
  const Sequence* s = sim.add(make_prompt(40, 3), 30);
  size_t max_used = 0;
  while (sim.sched().has_work()) {
    sim.step();
    max_used = std::max(max_used, sim.sched().blocks().used_count());
  }
  sim.check_outputs();
  EXPECT_EQ(s->n_generated(), 30u);
  // 70 positions: 18 full blocks; the window table held at most
  // (8 + 6) / 4 + 2 blocks at a time, not 18.
  EXPECT_LE(sim.max_window_blocks(), 5u);
  EXPECT_LE(max_used, 18u + 5u);
  EXPECT_EQ(sim.sched().blocks().used_count(), 0u);
  EXPECT_TRUE(s->kv.window_blocks.empty());
}

TEST(SlidingWindow, DroppedWindowBlocksAreMinusOneAndReleased) {
  EngineOptions o;
  o.max_batch_tokens = 4;
  Sim sim(64, 4, o, 4);
  const Sequence* s = sim.add(make_prompt(20, 5), 10);
  for (int i = 0; i < 5; ++i) sim.step();  // the prompt, 4 positions a step
  ASSERT_EQ(s->n_computed, 20u);
  ASSERT_EQ(s->kv.window_blocks.size(), 5u);
  // Position 20 reads 17..20: blocks 0..3 are gone, block 4 stays.
  EXPECT_EQ(s->kv.window_blocks[0], -1);
  EXPECT_EQ(s->kv.window_blocks[3], -1);
  EXPECT_GE(s->kv.window_blocks[4], 0);
  EXPECT_EQ(s->window_dropped, 4u);
  ASSERT_TRUE(sim.run());
  sim.check_outputs();
}

TEST(SlidingWindow, PrefixCacheHitsWithTheWindowCopies) {
  const auto prefix = make_prompt(32, 9);
  Sim sim(64, 4, {}, 8);
  sim.add(prefix, 4);
  ASSERT_TRUE(sim.run());
  // The first sequence dropped its early window blocks while it ran, but
  // they stayed in the prefix cache; the second finds the full blocks of the
  // prefix and the window blocks position 32 reads (25..31).
  const Sequence* b = sim.add(concat(prefix, {1, 2, 3}), 4);
  ASSERT_TRUE(sim.run());
  EXPECT_EQ(b->cached_tokens, 32u);
  sim.check_outputs();
  EXPECT_EQ(sim.sched().blocks().used_count(), 0u);
}

TEST(SlidingWindow, HitIsShortenedWhenTheWindowCopiesAreGone) {
  // A pool so small that a second request's blocks evict the cached window
  // copies of the prefix (dropped early, so freed before the full blocks)
  // while 8 of its 9 full blocks survive: the hit must not use full blocks
  // whose window copies are gone, and the outputs stay right.
  EngineOptions o;
  o.max_batch_tokens = 8;
  Sim sim(24, 4, o, 4);
  const auto prefix = make_prompt(36, 11);
  sim.add(prefix, 2);
  ASSERT_TRUE(sim.run());
  sim.add(make_prompt(28, 12), 2);
  ASSERT_TRUE(sim.run());
  std::vector<uint64_t> hashes;
  for (size_t i = 0; i < 9; ++i) {
    hashes.push_back(
        hash_block(i == 0 ? kRootHash : hashes.back(), std::span(prefix).subspan(i * 4, 4)));
  }
  const size_t full_hit = sim.sched().blocks().lookup(hashes, prefix).size();
  ASSERT_EQ(full_hit, 8u);
  const Sequence* c = sim.add(concat(prefix, {4, 5}), 2);
  ASSERT_TRUE(sim.run());
  EXPECT_LT(c->cached_tokens, full_hit * 4);
  sim.check_outputs();
  EXPECT_EQ(sim.sched().blocks().used_count(), 0u);
}

TEST(SlidingWindow, PoolFitsASequenceTwoFullTablesCouldNot) {
  EngineOptions o;
  o.max_batch_tokens = 4;
  // 20 blocks of 4, window 4: the window table needs at most
  // (4 + 4) / 4 + 2 = 4 blocks, so one sequence may use 16 blocks = 64
  // positions (two full tables would allow 40).
  EXPECT_EQ(Scheduler::kv_positions(o, 20, 4, 4), 64u);
  EXPECT_EQ(Scheduler::kv_positions(o, 20, 4, 0), 80u);
  EXPECT_EQ(Scheduler::kv_positions(o, 6, 4, 4), 12u);  // half the pool at least
  const Request r = testing::greedy_request(make_prompt(50, 13), 12);
  testing::Collector c;
  {
    Engine e(std::make_unique<testing::FakeModel>(20, 4, 1000, std::make_shared<testing::FakeLog>(),
                                                  64, 4),
             o);
    ASSERT_EQ(e.submit(r, c.callback()).code, SubmitCode::kOk);
    c.wait();
    EXPECT_EQ(e.stats().kv_blocks_used, 0u);
    // 65 positions do not fit: refused up front, not stuck in the queue.
    const Submitted big =
        e.submit(testing::greedy_request(make_prompt(64, 14), 4), [](Update&&) {});
    EXPECT_EQ(big.code, SubmitCode::kInvalid);
  }
  EXPECT_EQ(c.last.finish, FinishReason::kLength);
  EXPECT_EQ(c.tokens, testing::fake_greedy(r.prompt, 12, {}, 1000, 64, 4));
}

// Random arrivals over shared prefixes with random windows, chunk sizes,
// pools and cancels: no stall, greedy outputs, bounded window tables,
// consistent blocks, nothing left in use.
TEST(SlidingWindow, RandomArrivalsAndCancelsKeepTheInvariants) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const auto pick = [&](size_t lo, size_t hi) { return lo + rng() % (hi - lo + 1); };
    const size_t bs = pick(1, 4), blocks = pick(40 / bs, 80 / bs), window = pick(1, 12);
    EngineOptions o;
    o.max_batch_tokens = pick(1, 24);
    o.max_running = pick(1, 8);
    o.prefix_caching = seed % 8 != 0;
    const size_t cap = Scheduler::kv_positions(o, blocks, bs, window);
    std::vector<std::vector<int32_t>> bases;
    for (uint32_t b = 0; b < 3; ++b) bases.push_back(make_prompt(24, 700 * seed + b));
    Sim sim(blocks, bs, o, window);
    std::vector<Sequence*> live;
    for (size_t i = 0; i < 40; ++i) {
      const auto& base = bases[rng() % 3];
      auto prompt = std::vector<int32_t>(base.begin(), base.begin() + pick(0, 24));
      prompt = concat(prompt, make_prompt(pick(prompt.empty() ? 1 : 0, 12), seed * 37 + i));
      const size_t max_tokens = pick(1, 16);
      prompt.resize(std::min(prompt.size(), cap - max_tokens));
      if (prompt.empty()) prompt.push_back(1);
      live.push_back(sim.add(std::move(prompt), max_tokens));
      if (rng() % 3 == 0) {
        for (size_t k = pick(1, 3); k-- > 0 && sim.sched().has_work();) sim.step();
      }
      if (rng() % 6 == 0) sim.cancel(live[rng() % live.size()]);
    }
    ASSERT_TRUE(sim.run());
    sim.check_outputs();
    EXPECT_EQ(sim.sched().blocks().used_count(), 0u);
    EXPECT_TRUE(sim.sched().blocks().consistent());
  }
}

}  // namespace
}  // namespace quarry::engine
