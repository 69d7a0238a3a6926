// In-flight prefix sharing through the whole engine (threads, callbacks,
// stats): requests submitted together with a shared prefix compute it once
// and report it as cached; a cancelled or preempted leader does not leave
// the others stuck; an unrelated request is not held behind a waiting one;
// and a randomised run with many shared prefixes keeps the invariants.
#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "engine/engine.h"
#include "fake_model.h"

namespace quarry::engine {
namespace {

using testing::Collector;
using testing::fake_greedy;
using testing::FakeLog;
using testing::FakeModel;
using testing::greedy_request;
using testing::make_prompt;

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A short request whose tokens differ from `prefix` at every position, so
// that its positions are not counted as the prefix's.
Request blocker(const std::vector<int32_t>& prefix) {
  std::vector<int32_t> p;
  for (size_t i = 0; i < 3; ++i) p.push_back((prefix[i] + 1) % 64);
  return greedy_request(p, 1);
}

// How often position p < prefix.size() holding prefix[p] was computed.
size_t prefix_positions_computed(const std::vector<testing::FakeBatch>& batches,
                                 const std::vector<int32_t>& prefix) {
  size_t n = 0;
  for (const auto& b : batches) {
    for (size_t t = 0; t < b.tokens.size(); ++t) {
      const auto p = static_cast<size_t>(b.positions[t]);
      n += p < prefix.size() && b.tokens[t] == prefix[p] ? 1 : 0;
    }
  }
  return n;
}

TEST(EnginePrefixSharing, SimultaneousRequestsComputeTheSharedPrefixOnce) {
  const auto prefix = make_prompt(24, 3);  // six blocks of 4
  std::vector<Request> reqs;
  for (uint32_t i = 0; i < 6; ++i) {
    reqs.push_back(greedy_request(concat(prefix, make_prompt(1 + i, 200 + i)), 5));
  }
  for (size_t budget : {256, 7}) {
    for (bool caching : {true, false}) {
      SCOPED_TRACE("budget " + std::to_string(budget) + (caching ? " caching" : " no caching"));
      EngineOptions o;
      o.max_batch_tokens = budget;
      o.prefix_caching = caching;
      auto log = std::make_shared<FakeLog>();
      std::deque<Collector> cs(reqs.size() + 1);
      EngineStats st;
      {
        Engine e(std::make_unique<FakeModel>(64, 4, 256, log), o);
        // Hold the engine in its first step so that all six are queued together.
        log->close_gate();
        ASSERT_EQ(e.submit(blocker(prefix), cs.back().callback()).code, SubmitCode::kOk);
        log->wait_calls_started(1);
        for (size_t i = 0; i < reqs.size(); ++i) {
          ASSERT_EQ(e.submit(reqs[i], cs[i].callback()).code, SubmitCode::kOk);
        }
        log->open_gate();
        for (auto& c : cs) c.wait();
        st = e.stats();
      }
      for (size_t i = 0; i < reqs.size(); ++i) {
        EXPECT_EQ(cs[i].tokens, fake_greedy(reqs[i].prompt, 5, {}, 256)) << i;
        EXPECT_EQ(cs[i].tokens, testing::run_alone(reqs[i], 64, 4, 256, o).tokens) << i;
        EXPECT_EQ(cs[i].finals, 1u);
        EXPECT_EQ(cs[i].last.cached_tokens, caching && i > 0 ? 24u : 0u) << i;
      }
      EXPECT_EQ(prefix_positions_computed(log->snapshot(), prefix), caching ? 24u : 6u * 24u);
      EXPECT_EQ(st.prefix_hit_tokens, caching ? 5u * 24u : 0u);
      EXPECT_EQ(st.prompt_tokens, 3u + (caching ? 24u : 6u * 24u) + (1u + 2u + 3u + 4u + 5u + 6u));
      EXPECT_EQ(st.kv_blocks_used, 0u);
      EXPECT_TRUE(log->errors.empty());
    }
  }
}

TEST(EnginePrefixSharing, CancelledLeaderDoesNotStrandTheFollowers) {
  const auto prefix = make_prompt(32, 4);
  EngineOptions o;
  o.max_batch_tokens = 8;
  auto log = std::make_shared<FakeLog>();
  std::deque<Collector> cs(4);
  std::vector<Request> reqs;
  for (uint32_t i = 0; i < 4; ++i) reqs.push_back(greedy_request(concat(prefix, {int32_t(i)}), 4));
  Engine e(std::make_unique<FakeModel>(64, 4, 256, log), o);
  log->close_gate();
  const Submitted leader = e.submit(reqs[0], cs[0].callback());
  ASSERT_EQ(leader.code, SubmitCode::kOk);
  log->wait_calls_started(1);
  for (size_t i = 1; i < 4; ++i)
    ASSERT_EQ(e.submit(reqs[i], cs[i].callback()).code, SubmitCode::kOk);
  // Step 2 runs the leader's second chunk with the followers waiting; step 3
  // stops at the gate with the leader mid-prefill.
  log->close_gate_on(3);
  log->open_gate();
  log->wait_calls_started(3);
  e.cancel(leader.id);
  log->open_gate();
  for (auto& c : cs) c.wait();
  EXPECT_EQ(cs[0].last.finish, FinishReason::kCancelled);
  EXPECT_TRUE(cs[0].tokens.empty());
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(cs[i].tokens, fake_greedy(reqs[i].prompt, 4, {}, 256)) << i;
    EXPECT_EQ(cs[i].last.finish, FinishReason::kLength);
    EXPECT_EQ(cs[i].finals, 1u);
  }
  // The leader computed three chunks of 8 (six blocks); the first follower
  // reused them and the others reused all eight.
  EXPECT_EQ(cs[1].last.cached_tokens, 24u);
  EXPECT_EQ(cs[2].last.cached_tokens, 32u);
  EXPECT_EQ(cs[3].last.cached_tokens, 32u);
  const auto batches = log->snapshot();
  ASSERT_GE(batches.size(), 3u);
  EXPECT_EQ(batches[1].seq_ids.size(), 1u);  // the followers waited
  EXPECT_EQ(prefix_positions_computed(batches, prefix), 32u);
  const EngineStats st = e.stats();
  EXPECT_EQ(st.kv_blocks_used, 0u);
  EXPECT_EQ(st.requests_finished, 4u);
  EXPECT_TRUE(log->errors.empty());
}

TEST(EnginePrefixSharing, PreemptedLeaderOnATinyPool) {
  // Six blocks of 4: the older long decode and the leader cannot both keep
  // theirs, so the leader is preempted while the followers wait for it.
  const auto prefix = make_prompt(12, 5);
  std::vector<Request> reqs = {greedy_request(make_prompt(2, 6), 14)};
  for (int32_t i = 0; i < 4; ++i) reqs.push_back(greedy_request(concat(prefix, {i, i}), 4));
  for (bool caching : {true, false}) {
    EngineOptions o;
    o.max_batch_tokens = 3;
    o.prefix_caching = caching;
    auto log = std::make_shared<FakeLog>();
    std::deque<Collector> cs(reqs.size());
    Engine e(std::make_unique<FakeModel>(6, 4, 256, log), o);
    log->close_gate();
    ASSERT_EQ(e.submit(reqs[0], cs[0].callback()).code, SubmitCode::kOk);
    log->wait_calls_started(1);
    for (size_t i = 1; i < reqs.size(); ++i) {
      ASSERT_EQ(e.submit(reqs[i], cs[i].callback()).code, SubmitCode::kOk);
    }
    log->open_gate();
    for (auto& c : cs) c.wait();
    for (size_t i = 0; i < reqs.size(); ++i) {
      EXPECT_EQ(cs[i].tokens, fake_greedy(reqs[i].prompt, reqs[i].max_tokens, {}, 256)) << i;
      EXPECT_EQ(cs[i].finals, 1u);
      EXPECT_FALSE(cs[i].after_final);
    }
    const EngineStats st = e.stats();
    EXPECT_EQ(st.kv_blocks_used, 0u);
    EXPECT_EQ(st.requests_finished, reqs.size());
    EXPECT_TRUE(log->errors.empty());
  }
}

TEST(EnginePrefixSharing, UnrelatedRequestRunsWhileAFollowerWaits) {
  const auto prefix = make_prompt(16, 6);
  EngineOptions o;
  o.max_batch_tokens = 30;
  auto log = std::make_shared<FakeLog>();
  std::deque<Collector> cs(4);
  const std::vector<Request> reqs = {greedy_request(concat(prefix, {1, 2}), 3),
                                     greedy_request(concat(prefix, {3, 4}), 3),
                                     greedy_request(make_prompt(6, 7), 3)};
  Engine e(std::make_unique<FakeModel>(64, 4, 256, log), o);
  log->close_gate();
  ASSERT_EQ(e.submit(blocker(prefix), cs[3].callback()).code, SubmitCode::kOk);
  log->wait_calls_started(1);
  for (size_t i = 0; i < 3; ++i)
    ASSERT_EQ(e.submit(reqs[i], cs[i].callback()).code, SubmitCode::kOk);
  log->open_gate();
  for (auto& c : cs) c.wait();
  const auto batches = log->snapshot();
  ASSERT_GE(batches.size(), 3u);
  // Step 2: the leader's prompt and the unrelated one (18 + 6 tokens); the
  // follower, queued between them, waits one step and reuses the prefix.
  EXPECT_EQ(batches[1].seq_ids.size(), 2u);
  EXPECT_EQ(batches[1].tokens.size(), 24u);
  EXPECT_EQ(cs[1].last.cached_tokens, 16u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(cs[i].tokens, fake_greedy(reqs[i].prompt, 3, {}, 256));
  EXPECT_EQ(e.stats().kv_blocks_used, 0u);
}

// The stress harness's random run, with most requests on a few long shared
// prefixes, arriving in bursts, with cancels and small pools.
TEST(EnginePrefixSharing, RandomBurstsWithSharedPrefixesKeepTheInvariants) {
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const auto pick = [&](size_t lo, size_t hi) { return lo + rng() % (hi - lo + 1); };
    const size_t bs = pick(1, 4), blocks = pick(40 / bs, 80 / bs), max_pos = 60;
    const size_t cap = std::min(max_pos, blocks * bs);
    EngineOptions o;
    o.max_batch_tokens = pick(1, 24);
    o.max_running = pick(2, 8);
    o.prefix_caching = seed % 4 != 0;
    std::vector<std::vector<int32_t>> bases;
    for (uint32_t b = 0; b < 2; ++b) bases.push_back(make_prompt(24, 3000 * seed + b));

    const size_t n = 48;
    std::deque<Collector> cs(n);
    std::vector<Request> reqs(n);
    std::vector<uint64_t> ids(n, 0);
    std::vector<bool> cancel_sent(n, false);
    auto log = std::make_shared<FakeLog>();
    {
      Engine e(std::make_unique<FakeModel>(blocks, bs, max_pos, log), o);
      for (size_t i = 0; i < n; ++i) {
        // Bursts: the gate holds the engine while several arrive.
        if (i % 6 == 0) log->close_gate();
        Request& r = reqs[i];
        const auto& base = bases[rng() % 2];
        r.prompt.assign(base.begin(), base.begin() + static_cast<ptrdiff_t>(pick(0, 24)));
        for (int32_t t : make_prompt(pick(r.prompt.empty() ? 1 : 0, 4), seed * 97 + i)) {
          r.prompt.push_back(t);
        }
        r.prompt.resize(std::min(r.prompt.size(), cap - 1));
        r.max_tokens = pick(1, 12);
        r.sampling.temperature = 0.0f;
        const Submitted s = e.submit(r, cs[i].callback());
        ASSERT_EQ(s.code, SubmitCode::kOk) << s.message;
        ids[i] = s.id;
        if (rng() % 5 == 0) {
          const size_t victim = rng() % (i + 1);
          e.cancel(ids[victim]);
          cancel_sent[victim] = true;
        }
        if (i % 6 == 5) log->open_gate();
      }
      log->open_gate();
      e.shutdown(true);
      const EngineStats st = e.stats();
      EXPECT_EQ(st.kv_blocks_used, 0u);
      EXPECT_EQ(st.kv_blocks_free, blocks);
      EXPECT_EQ(st.running + st.waiting, 0u);
      EXPECT_EQ(st.requests_finished, n);
      EXPECT_LE(st.prefix_hit_tokens, st.prefix_query_tokens);
      if (o.prefix_caching) {
        EXPECT_GT(st.prefix_hit_tokens, 0u);
      }
      EXPECT_TRUE(log->errors.empty());
    }
    for (size_t i = 0; i < n; ++i) {
      SCOPED_TRACE("request " + std::to_string(i));
      const Collector& c = cs[i];
      EXPECT_EQ(c.finals, 1u);
      EXPECT_FALSE(c.after_final);
      const auto want = fake_greedy(reqs[i].prompt, reqs[i].max_tokens, {}, cap);
      if (c.last.finish == FinishReason::kCancelled) {
        EXPECT_TRUE(cancel_sent[i]);
        ASSERT_LE(c.tokens.size(), want.size());
        EXPECT_TRUE(std::equal(c.tokens.begin(), c.tokens.end(), want.begin()));
      } else {
        EXPECT_EQ(c.tokens, want);
      }
      EXPECT_LE(c.last.cached_tokens, reqs[i].prompt.size() - 1);
    }
  }
}

}  // namespace
}  // namespace quarry::engine
