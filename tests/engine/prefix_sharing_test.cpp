// In-flight prefix sharing, step by step: the Scheduler driven directly as
// the engine thread drives it, over the fake model, so a test can say which
// sequences ran in which step. Requests that arrive together with a shared
// prefix compute it once (the first computes, the others wait for its blocks
// and are admitted with a prefix hit); the wait ends when the leader is
// cancelled or preempted; unrelated requests pass a waiting one. Outputs are
// compared with fake_greedy(), so a bad block table shows as wrong tokens.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "sim.h"

namespace quarry::engine {
namespace {

using testing::concat;
using testing::make_prompt;
using testing::Ran;
using testing::Sim;

TEST(PrefixSharing, FollowersWaitForTheLeadersBlocks) {
  const auto prefix = make_prompt(16, 7);
  Sim sim(64, 4, {});
  std::vector<Sequence*> s;
  for (uint32_t i = 0; i < 4; ++i) s.push_back(sim.add(concat(prefix, make_prompt(3, 100 + i)), 4));
  // The leader alone computes the prefix; the others start right after it.
  EXPECT_EQ(sim.step(), (std::vector<Ran>{{1, 0, 19}}));
  EXPECT_EQ(sim.step(), (std::vector<Ran>{{1, 19, 1}, {2, 16, 3}, {3, 16, 3}, {4, 16, 3}}));
  ASSERT_TRUE(sim.run());
  sim.check_outputs();
  EXPECT_EQ(sim.prompt_computed(), 19u + 3u * 3u);
  EXPECT_EQ(s[0]->cached_tokens, 0u);
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(s[i]->cached_tokens, 16u);
  EXPECT_EQ(sim.sched().prefix_hit_tokens(), 3u * 16u);
  EXPECT_EQ(sim.sched().blocks().used_count(), 0u);
}

TEST(PrefixSharing, ChunkedLeaderStillComputesThePrefixOnce) {
  for (size_t budget : {1, 3, 6, 9}) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    EngineOptions o;
    o.max_batch_tokens = budget;
    const auto prefix = make_prompt(21, 8);
    Sim sim(64, 4, o);
    std::vector<Sequence*> s;
    for (uint32_t i = 0; i < 5; ++i)
      s.push_back(sim.add(concat(prefix, make_prompt(i, 50 + i)), 3));
    ASSERT_TRUE(sim.run());
    sim.check_outputs();
    // 20 = the full blocks of the prefix; position 20 is in each one's own block.
    for (size_t p = 0; p < 20; ++p) {
      size_t n = 0;
      for (const Sequence* q : s) n += sim.computed(q, p);
      EXPECT_EQ(n, 1u) << "position " << p;
    }
    // s[0] (no tail) computes its own last block; the others reuse all 20.
    for (size_t i = 1; i < 5; ++i) EXPECT_EQ(s[i]->cached_tokens, 20u) << i;
    EXPECT_EQ(sim.sched().blocks().used_count(), 0u);
  }
}

TEST(PrefixSharing, OffWithoutPrefixCaching) {
  EngineOptions o;
  o.prefix_caching = false;
  const auto prefix = make_prompt(16, 7);
  Sim sim(64, 4, o);
  for (uint32_t i = 0; i < 3; ++i) sim.add(concat(prefix, make_prompt(3, 100 + i)), 2);
  // No waiting: all three start at once and each computes everything.
  EXPECT_EQ(sim.step(), (std::vector<Ran>{{1, 0, 19}, {2, 0, 19}, {3, 0, 19}}));
  ASSERT_TRUE(sim.run());
  sim.check_outputs();
  EXPECT_EQ(sim.prompt_computed(), 3u * 19u);
}

TEST(PrefixSharing, UnrelatedRequestsPassAWaitingFollower) {
  EngineOptions o;
  o.max_batch_tokens = 30;
  const auto prefix = make_prompt(16, 7);
  Sim sim(64, 4, o);
  sim.add(concat(prefix, {1, 2, 3}), 3);
  sim.add(concat(prefix, {4, 5, 6}), 3);
  sim.add(make_prompt(5, 9), 3);
  sim.add(concat(prefix, {7}), 3);
  sim.add(make_prompt(4, 10), 3);
  // 2 and 4 wait for 1's blocks; 3 and 5 go past them in the same step.
  EXPECT_EQ(sim.step(), (std::vector<Ran>{{1, 0, 19}, {3, 0, 5}, {5, 0, 4}}));
  // Then the followers, in their order, with the prefix as a hit.
  EXPECT_EQ(sim.step(),
            (std::vector<Ran>{{1, 19, 1}, {3, 5, 1}, {5, 4, 1}, {2, 16, 3}, {4, 16, 1}}));
  ASSERT_TRUE(sim.run());
  sim.check_outputs();
}

TEST(PrefixSharing, FollowersShareWithEachOtherBeyondTheLeader) {
  // 1 shares two blocks with 2 and 3; 2 and 3 share four. 3 waits for 1,
  // then for 2.
  const auto a = make_prompt(8, 1), b = make_prompt(8, 2);
  Sim sim(64, 4, {});
  sim.add(concat(a, {9, 9, 9, 9, 9}), 2);
  sim.add(concat(concat(a, b), {1}), 2);
  sim.add(concat(concat(a, b), {2}), 2);
  EXPECT_EQ(sim.step(), (std::vector<Ran>{{1, 0, 13}}));
  EXPECT_EQ(sim.step(), (std::vector<Ran>{{1, 13, 1}, {2, 8, 9}}));
  EXPECT_EQ(sim.step(), (std::vector<Ran>{{2, 17, 1}, {3, 16, 1}}));
  ASSERT_TRUE(sim.run());
  sim.check_outputs();
}

TEST(PrefixSharing, LeaderCancelledMidPrefill) {
  EngineOptions o;
  o.max_batch_tokens = 4;
  const auto prefix = make_prompt(16, 7);
  Sim sim(64, 4, o);
  Sequence* leader = sim.add(concat(prefix, {1, 2}), 5);
  Sequence* f1 = sim.add(concat(prefix, {3, 4}), 5);
  Sequence* f2 = sim.add(concat(prefix, {5, 6}), 5);
  EXPECT_EQ(sim.step(), (std::vector<Ran>{{1, 0, 4}}));
  EXPECT_EQ(sim.step(), (std::vector<Ran>{{1, 4, 4}}));
  ASSERT_TRUE(sim.cancel(leader));
  // f1 takes over from the leader's two computed blocks; f2 now waits for f1.
  EXPECT_EQ(sim.step(), (std::vector<Ran>{{2, 8, 4}}));
  ASSERT_TRUE(sim.run());
  sim.check_outputs();
  EXPECT_EQ(f1->cached_tokens, 8u);
  EXPECT_EQ(f2->cached_tokens, 16u);
  EXPECT_EQ(sim.sched().blocks().used_count(), 0u);
}

TEST(PrefixSharing, FollowerCancelledWhileWaiting) {
  const auto prefix = make_prompt(16, 7);
  EngineOptions o;
  o.max_batch_tokens = 4;
  Sim sim(64, 4, o);
  sim.add(concat(prefix, {1}), 3);
  Sequence* f = sim.add(concat(prefix, {2}), 3);
  sim.add(concat(prefix, {3}), 3);
  sim.step();
  ASSERT_TRUE(sim.cancel(f));
  ASSERT_TRUE(sim.run());
  sim.check_outputs();
  EXPECT_EQ(sim.sched().blocks().used_count(), 0u);
}

TEST(PrefixSharing, LeaderPreemptedOnATinyPool) {
  // An older request decoding needs blocks while the leader prefills: the
  // leader is the newest unscheduled sequence, so it is preempted (the
  // followers are waiting, not running, and cannot be).
  EngineOptions o;
  o.max_batch_tokens = 3;
  Sim sim(7, 4, o);
  Sequence* old = sim.add(make_prompt(2, 3), 12);
  sim.step();
  const auto prefix = make_prompt(16, 7);
  Sequence* leader = sim.add(concat(prefix, {1, 2}), 3);
  Sequence* f1 = sim.add(concat(prefix, {3, 4}), 3);
  Sequence* f2 = sim.add(concat(prefix, {5}), 3);
  bool leader_preempted = false;
  for (size_t i = 0; i < 1000 && sim.sched().has_work(); ++i) {
    const size_t before = sim.preempted();
    sim.step();
    // A preempted sequence is back in the queue with no blocks.
    if (sim.preempted() > before && leader->admitted_once && leader->kv.blocks.empty() &&
        leader->n_generated() == 0) {
      leader_preempted = true;
    }
  }
  EXPECT_TRUE(leader_preempted);
  EXPECT_FALSE(sim.sched().has_work());
  sim.check_outputs();
  EXPECT_EQ(old->n_generated(), 12u);
  EXPECT_GT(f1->cached_tokens + f2->cached_tokens, 0u);
  EXPECT_EQ(sim.sched().blocks().used_count(), 0u);
}

// Random arrivals over a few long shared prefixes, random cancels, small
// pools: no stall, consistent blocks after every step, greedy outputs, and
// nothing left in use.
TEST(PrefixSharing, RandomArrivalsAndCancelsKeepTheInvariants) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const auto pick = [&](size_t lo, size_t hi) { return lo + rng() % (hi - lo + 1); };
    const size_t bs = pick(1, 4), blocks = pick(40 / bs, 80 / bs);
    EngineOptions o;
    o.max_batch_tokens = pick(1, 24);
    o.max_running = pick(1, 8);
    o.prefix_caching = seed % 8 != 0;
    std::vector<std::vector<int32_t>> bases;
    for (uint32_t b = 0; b < 3; ++b) bases.push_back(make_prompt(24, 500 * seed + b));
    Sim sim(blocks, bs, o);
    std::vector<Sequence*> live;
    for (size_t i = 0; i < 40; ++i) {
      const auto& base = bases[rng() % 3];
      auto prompt = std::vector<int32_t>(base.begin(), base.begin() + pick(0, 24));
      prompt = concat(prompt, make_prompt(pick(prompt.empty() ? 1 : 0, 5), seed * 31 + i));
      prompt.resize(std::min(prompt.size(), blocks * bs - 8));
      live.push_back(sim.add(std::move(prompt), pick(1, 6)));
      // Bursts: several arrivals between steps.
      if (rng() % 3 == 0) {
        for (size_t k = pick(1, 3); k-- > 0 && sim.sched().has_work();) sim.step();
      }
      if (rng() % 6 == 0) sim.cancel(live[rng() % live.size()]);  // maybe finished already
    }
    ASSERT_TRUE(sim.run());
    sim.check_outputs();
    EXPECT_EQ(sim.sched().blocks().used_count(), 0u);
    EXPECT_LE(sim.sched().prefix_hit_tokens(), sim.sched().prefix_query_tokens());
  }
}

}  // namespace
}  // namespace quarry::engine
