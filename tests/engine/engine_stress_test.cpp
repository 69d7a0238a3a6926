// The engine under memory pressure and at shutdown: preemption on a tiny KV
// pool, drain / no-drain / destruction, and a randomised property test of
// submits and cancels whose invariants are checked at the end (greedy outputs
// as computed directly, one final update per request, no block left in use),
// half of the runs with sliding-window block tables.
#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "engine/engine.h"
#include "engine/scheduler.h"
#include "fake_model.h"

namespace quarry::engine {
namespace {

using testing::Collector;
using testing::fake_greedy;
using testing::FakeLog;
using testing::FakeModel;
using testing::greedy_request;
using testing::make_prompt;

// Runs `reqs` together (the first one starts alone, the rest join at the
// second step) and returns the log of batches.
std::vector<testing::FakeBatch> run_together(const std::vector<Request>& reqs,
                                             std::deque<Collector>& cs, size_t kv_blocks,
                                             size_t block_size, EngineOptions o,
                                             EngineStats* stats) {
  auto log = std::make_shared<FakeLog>();
  cs.resize(reqs.size());
  Engine e(std::make_unique<FakeModel>(kv_blocks, block_size, 1000, log), o);
  log->close_gate();
  EXPECT_EQ(e.submit(reqs[0], cs[0].callback()).code, SubmitCode::kOk);
  log->wait_calls_started(1);
  for (size_t i = 1; i < reqs.size(); ++i) {
    EXPECT_EQ(e.submit(reqs[i], cs[i].callback()).code, SubmitCode::kOk);
  }
  log->open_gate();
  for (auto& c : cs) c.wait();
  *stats = e.stats();
  EXPECT_TRUE(log->errors.empty());
  return log->snapshot();
}

TEST(EngineStress, PreemptionOnATinyPoolKeepsGreedyOutputs) {
  std::vector<Request> reqs;
  for (size_t i = 0; i < 5; ++i) {
    reqs.push_back(greedy_request(make_prompt(5 + i, static_cast<uint32_t>(40 + i)), 12));
  }
  // One seeded sampled request: a recompute must not draw again.
  reqs[4].sampling.temperature = 1.0f;
  reqs[4].sampling.seed = 5;
  const auto sampled_alone = testing::run_alone(reqs[4], 64, 4, 1000).tokens;
  for (bool caching : {false, true}) {
    EngineOptions o;
    o.prefix_caching = caching;
    std::deque<Collector> cs;
    EngineStats st;
    // 6 blocks of 4: each request alone needs up to 5 of them.
    const auto batches = run_together(reqs, cs, 6, 4, o, &st);
    for (size_t i = 0; i < reqs.size(); ++i) {
      const auto want = i == 4 ? sampled_alone : fake_greedy(reqs[i].prompt, 12, {}, 1000);
      EXPECT_EQ(cs[i].tokens, want) << i;
      EXPECT_EQ(cs[i].finals, 1u);
      EXPECT_FALSE(cs[i].after_final);
      EXPECT_EQ(cs[i].last.finish, FinishReason::kLength);
    }
    EXPECT_EQ(st.kv_blocks_used, 0u);
    EXPECT_EQ(st.requests_finished, reqs.size());
    EXPECT_EQ(st.generated_tokens, 5u * 12u);
    if (!caching) {
      // Without the prefix cache a recompute starts at position 0 again.
      size_t starts = 0;
      for (const auto& b : batches) starts += std::count(b.positions.begin(), b.positions.end(), 0);
      EXPECT_GT(starts, reqs.size()) << "no request was preempted";
      EXPECT_GT(st.prompt_tokens, 5u + 6u + 7u + 8u + 9u);
    }
  }
}

TEST(EngineStress, ShutdownDrainFinishesEveryRequest) {
  std::deque<Collector> cs(6);
  Engine e(std::make_unique<FakeModel>(32, 4, 1000));
  for (size_t i = 0; i < cs.size(); ++i) {
    ASSERT_EQ(
        e.submit(greedy_request(make_prompt(3 + i, static_cast<uint32_t>(i)), 20), cs[i].callback())
            .code,
        SubmitCode::kOk);
  }
  e.shutdown(true);
  for (size_t i = 0; i < cs.size(); ++i) {
    EXPECT_EQ(cs[i].finals, 1u);
    EXPECT_EQ(cs[i].last.finish, FinishReason::kLength);
    EXPECT_EQ(cs[i].tokens, fake_greedy(make_prompt(3 + i, static_cast<uint32_t>(i)), 20, {}, 128));
  }
  Collector late;
  const Submitted s = e.submit(greedy_request({1, 2}, 2), late.callback());
  EXPECT_EQ(s.code, SubmitCode::kShuttingDown);
  EXPECT_EQ(e.stats().requests_refused, 1u);
  e.shutdown(true);  // idempotent
  e.shutdown(false);
  EXPECT_EQ(late.updates, 0u);
}

TEST(EngineStress, ShutdownWithoutDrainCancelsEveryRequest) {
  auto log = std::make_shared<FakeLog>();
  std::deque<Collector> cs(4);
  Engine e(std::make_unique<FakeModel>(64, 4, 1000, log));
  // The first request's first token shuts the engine down from the callback
  // (which must not wait for its own thread).
  const UpdateCallback inner = cs[0].callback();
  const UpdateCallback stop_all = [&e, inner](Update&& u) {
    const bool first = u.generated_tokens == 1 && !u.finished;
    inner(std::move(u));
    if (first) e.shutdown(false);
  };
  log->close_gate();
  ASSERT_EQ(e.submit(greedy_request(make_prompt(4, 1), 100), stop_all).code, SubmitCode::kOk);
  log->wait_calls_started(1);
  for (size_t i = 1; i < cs.size(); ++i) {
    ASSERT_EQ(e.submit(greedy_request(make_prompt(4 + i, 2), 100), cs[i].callback()).code,
              SubmitCode::kOk);
  }
  log->open_gate();
  e.shutdown(false);  // joins
  for (auto& c : cs) {
    EXPECT_EQ(c.finals, 1u);
    EXPECT_FALSE(c.after_final);
    EXPECT_EQ(c.last.finish, FinishReason::kCancelled);
  }
  EXPECT_EQ(cs[0].tokens.size(), 1u);
  const EngineStats st = e.stats();
  EXPECT_EQ(st.kv_blocks_used, 0u);
  EXPECT_EQ(st.requests_finished, 4u);
}

TEST(EngineStress, DestructionDrains) {
  std::deque<Collector> cs(5);
  {
    Engine e(std::make_unique<FakeModel>(64, 4, 1000));
    for (size_t i = 0; i < cs.size(); ++i) {
      ASSERT_EQ(
          e.submit(greedy_request(make_prompt(6, static_cast<uint32_t>(i)), 30), cs[i].callback())
              .code,
          SubmitCode::kOk);
    }
  }
  for (auto& c : cs) {
    EXPECT_EQ(c.finals, 1u);
    EXPECT_EQ(c.last.finish, FinishReason::kLength);
    EXPECT_EQ(c.tokens.size(), 30u);
  }
}

// Random submits (with shared prefixes, stop ids, self-cancelling callbacks)
// and cancels on small pools; then the invariants.
TEST(EngineStress, RandomSubmitsAndCancelsKeepTheInvariants) {
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const auto pick = [&](size_t lo, size_t hi) { return lo + rng() % (hi - lo + 1); };
    const size_t bs = pick(1, 4), blocks = pick(48 / bs, 96 / bs), max_pos = pick(30, 80);
    // Even seeds: a model with sliding-window layers (a second block table).
    const size_t window = seed % 2 == 0 ? pick(1, 10) : 0;
    EngineOptions o;
    o.max_batch_tokens = pick(1, 16);
    o.max_running = pick(1, 6);
    o.prefix_caching = seed % 4 != 0;
    const size_t cap = std::min(max_pos, Scheduler::kv_positions(o, blocks, bs, window));
    std::vector<std::vector<int32_t>> bases;
    for (uint32_t b = 0; b < 3; ++b) bases.push_back(make_prompt(20, 1000 * seed + b));

    const size_t n = 60;
    std::deque<Collector> cs(n);
    std::vector<Request> reqs(n);
    std::vector<uint64_t> ids(n, 0);
    std::vector<bool> cancel_sent(n, false);
    std::mutex ids_mu;
    {
      auto log = std::make_shared<FakeLog>();
      Engine e(std::make_unique<FakeModel>(blocks, bs, max_pos, log, 64, window), o);
      for (size_t i = 0; i < n; ++i) {
        Request& r = reqs[i];
        const size_t len = pick(1, std::min<size_t>(30, cap - 1));
        const size_t shared = rng() % 2 ? std::min(len, pick(0, 20)) : 0;
        const auto& base = bases[i % 3];
        r.prompt.assign(base.begin(), base.begin() + static_cast<ptrdiff_t>(shared));
        for (int32_t t : make_prompt(len - shared, static_cast<uint32_t>(seed * 7919 + i))) {
          r.prompt.push_back(t);
        }
        r.max_tokens = pick(1, 20);
        r.sampling.temperature = 0.0f;
        if (rng() % 4 == 0) r.stop_ids = {static_cast<int32_t>(rng() % 64)};
        UpdateCallback cb = cs[i].callback();
        if (rng() % 8 == 0) {
          // Cancels itself from its callback after k tokens.
          const size_t k = pick(1, 5);
          cb = [&e, &ids, &ids_mu, i, k, inner = cb](Update&& u) {
            const size_t g = u.generated_tokens;
            inner(std::move(u));
            std::lock_guard lk(ids_mu);
            if (g == k) e.cancel(ids[i]);
          };
          cancel_sent[i] = true;
        }
        {
          std::lock_guard lk(ids_mu);
          const Submitted s = e.submit(r, std::move(cb));
          ASSERT_EQ(s.code, SubmitCode::kOk) << s.message;
          ids[i] = s.id;
        }
        if (rng() % 5 == 0) {
          const size_t victim = rng() % (i + 1);
          e.cancel(ids[victim]);
          cancel_sent[victim] = true;
        }
        if (rng() % 6 == 0) cs[rng() % (i + 1)].wait();
      }
      e.shutdown(true);
      const EngineStats st = e.stats();
      EXPECT_EQ(st.kv_blocks_used, 0u);
      EXPECT_EQ(st.kv_blocks_free, blocks);
      EXPECT_EQ(st.running + st.waiting, 0u);
      EXPECT_EQ(st.requests_finished, n);
      size_t generated = 0;
      for (auto& c : cs) generated += c.tokens.size();
      EXPECT_EQ(st.generated_tokens, generated);
      EXPECT_LE(st.prefix_hit_tokens, st.prefix_query_tokens);
      EXPECT_TRUE(log->errors.empty());
    }
    for (size_t i = 0; i < n; ++i) {
      SCOPED_TRACE("request " + std::to_string(i));
      const Collector& c = cs[i];
      EXPECT_EQ(c.finals, 1u);
      EXPECT_FALSE(c.after_final);
      const auto want =
          fake_greedy(reqs[i].prompt, reqs[i].max_tokens, reqs[i].stop_ids, cap, 64, window);
      if (c.last.finish == FinishReason::kCancelled) {
        EXPECT_TRUE(cancel_sent[i]);
        ASSERT_LE(c.tokens.size(), want.size());
        EXPECT_TRUE(std::equal(c.tokens.begin(), c.tokens.end(), want.begin()));
      } else {
        EXPECT_EQ(c.tokens, want);
        EXPECT_NE(c.last.finish, FinishReason::kError);
      }
      EXPECT_EQ(c.last.generated_tokens, c.tokens.size());
      EXPECT_LE(c.last.cached_tokens, reqs[i].prompt.size() - 1);
    }
  }
}

}  // namespace
}  // namespace quarry::engine
