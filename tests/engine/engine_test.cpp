// The engine over the fake model: batching, chunked prefill, the prefix
// cache, sampling, finish reasons, cancellation and admission limits. The
// outputs are compared with fake_greedy() / a run alone, so any mix-up of
// block tables or KV contents shows as different tokens.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <mutex>
#include <thread>

#include "fake_model.h"

namespace quarry::engine {
namespace {

using testing::Collector;
using testing::fake_greedy;
using testing::FakeLog;
using testing::FakeModel;
using testing::greedy_request;
using testing::make_prompt;

std::unique_ptr<FakeModel> fake(size_t kv_blocks, size_t block_size, size_t max_positions,
                                std::shared_ptr<FakeLog> log = std::make_shared<FakeLog>()) {
  return std::make_unique<FakeModel>(kv_blocks, block_size, max_positions, std::move(log));
}

TEST(Engine, ConcurrentGreedyEqualsAlone) {
  const std::vector<size_t> lengths = {1, 3, 4, 5, 9, 16, 17, 23};
  std::vector<Request> reqs;
  for (size_t i = 0; i < lengths.size(); ++i) {
    reqs.push_back(greedy_request(make_prompt(lengths[i], static_cast<uint32_t>(i)), 10 + i));
  }
  std::vector<std::vector<int32_t>> alone;
  for (const Request& r : reqs) alone.push_back(testing::run_alone(r, 64, 4, 256).tokens);

  auto log = std::make_shared<FakeLog>();
  std::deque<Collector> cs(reqs.size());
  {
    Engine e(fake(64, 4, 256, log));
    // Hold the first step so that the others join the following ones.
    log->close_gate();
    ASSERT_EQ(e.submit(reqs[0], cs[0].callback()).code, SubmitCode::kOk);
    log->wait_calls_started(1);
    for (size_t i = 1; i < reqs.size(); ++i) {
      ASSERT_EQ(e.submit(reqs[i], cs[i].callback()).code, SubmitCode::kOk);
    }
    log->open_gate();
    for (auto& c : cs) c.wait();
    const EngineStats st = e.stats();
    EXPECT_EQ(st.kv_blocks_used, 0u);
    EXPECT_EQ(st.requests_finished, reqs.size());
    EXPECT_EQ(st.running, 0u);
    EXPECT_EQ(st.waiting, 0u);
  }
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(cs[i].tokens, alone[i]) << "request " << i;
    EXPECT_EQ(cs[i].tokens, fake_greedy(reqs[i].prompt, reqs[i].max_tokens, {}, 256));
    EXPECT_EQ(cs[i].finals, 1u);
    EXPECT_EQ(cs[i].last.finish, FinishReason::kLength);
    EXPECT_EQ(cs[i].last.prompt_tokens, reqs[i].prompt.size());
    EXPECT_EQ(cs[i].last.generated_tokens, reqs[i].max_tokens);
  }
  size_t widest = 0;
  for (const auto& b : log->snapshot()) widest = std::max(widest, b.seq_ids.size());
  EXPECT_EQ(widest, reqs.size());  // the step after the held one runs them all
  EXPECT_TRUE(log->errors.empty());
}

TEST(Engine, ChunkedPrefillRespectsTheBudget) {
  auto log = std::make_shared<FakeLog>();
  EngineOptions o;
  o.max_batch_tokens = 5;
  const Request a = greedy_request(make_prompt(13, 1), 6), b = greedy_request(make_prompt(9, 2), 6);
  std::deque<Collector> cs(2);
  {
    Engine e(fake(64, 4, 256, log), o);
    log->close_gate();
    ASSERT_EQ(e.submit(a, cs[0].callback()).code, SubmitCode::kOk);
    log->wait_calls_started(1);
    ASSERT_EQ(e.submit(b, cs[1].callback()).code, SubmitCode::kOk);
    log->open_gate();
    cs[0].wait();
    cs[1].wait();
  }
  EXPECT_EQ(cs[0].tokens, fake_greedy(a.prompt, 6, {}, 256));
  EXPECT_EQ(cs[1].tokens, fake_greedy(b.prompt, 6, {}, 256));

  const auto batches = log->snapshot();
  ASSERT_FALSE(batches.empty());
  // The first prompt alone: 13 tokens in chunks of 5, 5, 3 (+ the second prompt's first 2).
  EXPECT_EQ(batches[0].tokens.size(), 5u);
  EXPECT_TRUE(batches[0].logit_rows.empty());
  const void* id_a = batches[0].seq_ids[0];
  size_t total = 0;
  for (const auto& bt : batches) {
    EXPECT_LE(bt.tokens.size(), 5u);
    total += bt.tokens.size();
    // Decoding sequences (one token past the prompt) come before any chunk.
    bool chunk_seen = false;
    for (size_t k = 0; k < bt.seq_ids.size(); ++k) {
      const auto first = std::find(bt.seq.begin(), bt.seq.end(), static_cast<int32_t>(k));
      const auto n = std::count(bt.seq.begin(), bt.seq.end(), static_cast<int32_t>(k));
      const int32_t prompt_len = bt.seq_ids[k] == id_a ? 13 : 9;
      if (bt.positions[static_cast<size_t>(first - bt.seq.begin())] >= prompt_len) {
        EXPECT_FALSE(chunk_seen);
        EXPECT_EQ(n, 1);
      } else {
        chunk_seen = true;
      }
    }
  }
  // Every prompt token and every fed-back generated token exactly once.
  EXPECT_EQ(total, 13u + 9u + 5u + 5u);
  EXPECT_TRUE(log->errors.empty());
}

TEST(Engine, PrefixCacheHitsReuseFullBlocks) {
  auto log = std::make_shared<FakeLog>();
  const std::vector<int32_t> base = make_prompt(14, 5);
  std::vector<int32_t> other(base.begin(), base.begin() + 12);
  for (int32_t t : make_prompt(3, 77)) other.push_back(t);

  Collector c1, c2, c3;
  Engine e(fake(64, 4, 256, log));
  ASSERT_EQ(e.submit(greedy_request(base, 5), c1.callback()).code, SubmitCode::kOk);
  c1.wait();
  EXPECT_EQ(c1.last.cached_tokens, 0u);
  // 14 prompt tokens + 4 fed back = 18 positions: 4 full blocks cached.
  EXPECT_EQ(e.stats().kv_blocks_cached, 4u);
  EXPECT_EQ(e.stats().kv_blocks_used, 0u);

  ASSERT_EQ(e.submit(greedy_request(other, 5), c2.callback()).code, SubmitCode::kOk);
  c2.wait();
  EXPECT_EQ(c2.last.cached_tokens, 12u);
  EXPECT_EQ(c2.tokens, fake_greedy(other, 5, {}, 256));

  // The same prompt again: every full block but the one holding the last token.
  ASSERT_EQ(e.submit(greedy_request(base, 5), c3.callback()).code, SubmitCode::kOk);
  c3.wait();
  EXPECT_EQ(c3.last.cached_tokens, 12u);
  EXPECT_EQ(c3.tokens, c1.tokens);

  const EngineStats st = e.stats();
  EXPECT_EQ(st.prefix_query_tokens, 14u + 15u + 14u);
  EXPECT_EQ(st.prefix_hit_tokens, 24u);
  EXPECT_EQ(st.prompt_tokens, 14u + 3u + 2u);
  EXPECT_EQ(st.generated_tokens, 15u);
  // The second request's first batch starts after the hit.
  const auto batches = log->snapshot();
  bool found = false;
  for (const auto& b : batches) {
    if (!b.positions.empty() && b.positions[0] == 12 && b.tokens.size() == 3) found = true;
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(log->errors.empty());
}

TEST(Engine, PrefixCacheOffComputesEverything) {
  EngineOptions o;
  o.prefix_caching = false;
  Collector c1, c2;
  Engine e(fake(64, 4, 256), o);
  const auto p = make_prompt(10, 3);
  ASSERT_EQ(e.submit(greedy_request(p, 3), c1.callback()).code, SubmitCode::kOk);
  c1.wait();
  ASSERT_EQ(e.submit(greedy_request(p, 3), c2.callback()).code, SubmitCode::kOk);
  c2.wait();
  EXPECT_EQ(c2.last.cached_tokens, 0u);
  EXPECT_EQ(c1.tokens, c2.tokens);
  EXPECT_EQ(e.stats().prefix_hit_tokens, 0u);
  EXPECT_EQ(e.stats().kv_blocks_cached, 0u);
  EXPECT_EQ(e.stats().prompt_tokens, 20u);
}

TEST(Engine, SeededSamplingIsTheSameAloneAndBatched) {
  Request r;
  r.prompt = make_prompt(7, 11);
  r.max_tokens = 20;
  r.sampling.temperature = 0.9f;
  r.sampling.top_p = 0.95f;
  r.sampling.seed = 1234;
  const auto alone = testing::run_alone(r, 64, 4, 256).tokens;
  ASSERT_EQ(alone.size(), 20u);

  auto log = std::make_shared<FakeLog>();
  std::deque<Collector> cs(4);
  {
    Engine e(fake(64, 4, 256, log));
    log->close_gate();
    Request other = r;
    other.sampling.seed.reset();
    other.prompt = make_prompt(5, 99);
    ASSERT_EQ(e.submit(other, cs[0].callback()).code, SubmitCode::kOk);
    log->wait_calls_started(1);
    ASSERT_EQ(e.submit(r, cs[1].callback()).code, SubmitCode::kOk);
    other.prompt = make_prompt(12, 98);
    ASSERT_EQ(e.submit(other, cs[2].callback()).code, SubmitCode::kOk);
    ASSERT_EQ(e.submit(r, cs[3].callback()).code, SubmitCode::kOk);
    log->open_gate();
    for (auto& c : cs) c.wait();
  }
  EXPECT_EQ(cs[1].tokens, alone);
  EXPECT_EQ(cs[3].tokens, alone);
}

TEST(Engine, FinishReasons) {
  const auto p = make_prompt(6, 21);
  const auto ref = fake_greedy(p, 12, {}, 1000);
  // Stop on the 4th greedy token (reported, and nothing after it).
  Request stop = greedy_request(p, 12);
  stop.stop_ids = {-7, ref[3]};
  const auto k = static_cast<size_t>(std::find(ref.begin(), ref.end(), ref[3]) - ref.begin());
  auto r = testing::run_alone(stop, 64, 4, 256);
  EXPECT_EQ(r.tokens, std::vector<int32_t>(ref.begin(), ref.begin() + k + 1));
  EXPECT_EQ(r.finish, FinishReason::kStop);

  r = testing::run_alone(greedy_request(p, 5), 64, 4, 256);
  EXPECT_EQ(r.tokens, std::vector<int32_t>(ref.begin(), ref.begin() + 5));
  EXPECT_EQ(r.finish, FinishReason::kLength);

  // max_positions 10: 4 tokens fit after the 6-token prompt.
  r = testing::run_alone(greedy_request(p, 50), 64, 4, 10);
  EXPECT_EQ(r.tokens, std::vector<int32_t>(ref.begin(), ref.begin() + 4));
  EXPECT_EQ(r.finish, FinishReason::kContext);
  r = testing::run_alone(greedy_request(p, 4), 64, 4, 10);
  EXPECT_EQ(r.finish, FinishReason::kLength);
  // The KV pool (3 blocks of 4) limits a sequence the same way.
  r = testing::run_alone(greedy_request(p, 50), 3, 4, 1000);
  EXPECT_EQ(r.tokens, std::vector<int32_t>(ref.begin(), ref.begin() + 6));
  EXPECT_EQ(r.finish, FinishReason::kContext);
  EXPECT_STREQ(finish_reason_name(FinishReason::kContext), "context");
  EXPECT_STREQ(finish_reason_name(FinishReason::kCancelled), "cancelled");
}

TEST(Engine, CancelMidGenerationFreesEverything) {
  auto log = std::make_shared<FakeLog>();
  Collector a, b, w;
  uint64_t a_id = 0;
  std::mutex id_mu;
  EngineOptions o;
  o.max_running = 2;
  Engine e(fake(64, 4, 4096, log), o);
  // Request a cancels itself from its own callback after 3 tokens.
  const UpdateCallback inner = a.callback();
  const UpdateCallback cancel_after_3 = [&, inner](Update&& u) {
    const size_t n = u.generated_tokens;
    inner(std::move(u));
    std::lock_guard lk(id_mu);
    if (n == 3) e.cancel(a_id);
  };
  log->close_gate();
  {
    std::lock_guard lk(id_mu);
    const Submitted s = e.submit(greedy_request(make_prompt(9, 1), 1000), cancel_after_3);
    ASSERT_EQ(s.code, SubmitCode::kOk);
    a_id = s.id;
  }
  log->wait_calls_started(1);
  const UpdateCallback b_inner = b.callback();
  const UpdateCallback hold_at_5 = [log, b_inner](Update&& u) {
    if (u.generated_tokens == 5) log->close_gate();
    b_inner(std::move(u));
  };
  const Submitted sb = e.submit(greedy_request(make_prompt(5, 2), 1000), hold_at_5);
  // max_running 2: the third one waits and is cancelled from this thread.
  const Submitted sw = e.submit(greedy_request(make_prompt(5, 3), 1000), w.callback());
  ASSERT_EQ(sb.code, SubmitCode::kOk);
  ASSERT_EQ(sw.code, SubmitCode::kOk);
  e.cancel(sw.id);
  e.cancel(987654);  // unknown: ignored
  log->open_gate();
  a.wait();
  w.wait();
  EXPECT_EQ(a.last.finish, FinishReason::kCancelled);
  EXPECT_GE(a.tokens.size(), 3u);
  EXPECT_LT(a.tokens.size(), 10u);
  EXPECT_EQ(w.last.finish, FinishReason::kCancelled);
  EXPECT_TRUE(w.tokens.empty());
  b.wait_tokens(5);  // b's callback closed the gate at 5: b runs no further
  e.cancel(sb.id);
  log->open_gate();
  b.wait();
  EXPECT_EQ(b.last.finish, FinishReason::kCancelled);
  EXPECT_LE(b.tokens.size(), 7u);
  e.cancel(sb.id);  // finished: ignored
  const EngineStats st = e.stats();
  EXPECT_EQ(st.kv_blocks_used, 0u);
  EXPECT_EQ(st.kv_blocks_free, st.kv_blocks_total);
  EXPECT_EQ(st.running + st.waiting, 0u);
  EXPECT_EQ(st.requests_finished, 3u);
  EXPECT_EQ(a.finals + b.finals + w.finals, 3u);
  EXPECT_FALSE(a.after_final || b.after_final || w.after_final);
  // Outputs up to the cancel are still the greedy ones.
  const auto ref = fake_greedy(make_prompt(5, 2), b.tokens.size(), {}, 4096);
  EXPECT_EQ(b.tokens, ref);
}

TEST(Engine, RefusesWhenTheWaitingQueueIsFull) {
  auto log = std::make_shared<FakeLog>();
  EngineOptions o;
  o.max_waiting = 2;
  std::deque<Collector> cs(4);
  Engine e(fake(64, 4, 256, log), o);
  log->close_gate();
  ASSERT_EQ(e.submit(greedy_request(make_prompt(4, 1), 3), cs[0].callback()).code, SubmitCode::kOk);
  log->wait_calls_started(1);  // the first is running now, not waiting
  EXPECT_EQ(e.submit(greedy_request(make_prompt(4, 2), 3), cs[1].callback()).code, SubmitCode::kOk);
  EXPECT_EQ(e.submit(greedy_request(make_prompt(4, 3), 3), cs[2].callback()).code, SubmitCode::kOk);
  EXPECT_EQ(e.stats().waiting, 2u);
  const Submitted over = e.submit(greedy_request(make_prompt(4, 4), 3), cs[3].callback());
  EXPECT_EQ(over.code, SubmitCode::kOverloaded);
  EXPECT_FALSE(over.message.empty());
  EXPECT_EQ(e.stats().requests_refused, 1u);
  log->open_gate();
  for (size_t i = 0; i < 3; ++i) cs[i].wait();
  EXPECT_EQ(cs[3].updates, 0u);  // a refused request never hears back
}

TEST(Engine, RefusesInvalidRequests) {
  Engine e(fake(4, 4, 32));  // the pool holds 16 positions, the model 32
  Collector c;
  const auto code = [&](Request r) { return e.submit(std::move(r), c.callback()); };
  Submitted s = code(greedy_request(make_prompt(16, 1), 1));
  EXPECT_EQ(s.code, SubmitCode::kInvalid);
  EXPECT_NE(s.message.find("16 tokens"), std::string::npos) << s.message;
  EXPECT_NE(s.message.find("16 positions"), std::string::npos) << s.message;
  EXPECT_EQ(code(greedy_request(make_prompt(15, 1), 1)).code, SubmitCode::kOk);
  c.wait();

  Engine big(fake(64, 4, 32));
  s = big.submit(greedy_request(make_prompt(32, 1), 1), nullptr);
  EXPECT_EQ(s.code, SubmitCode::kInvalid);
  EXPECT_NE(s.message.find("32 positions"), std::string::npos) << s.message;
  s = big.submit(greedy_request({}, 1), nullptr);
  EXPECT_EQ(s.code, SubmitCode::kInvalid);
  EXPECT_NE(s.message.find("prompt"), std::string::npos);
  s = big.submit(greedy_request({1, 64}, 1), nullptr);
  EXPECT_EQ(s.code, SubmitCode::kInvalid);
  EXPECT_NE(s.message.find("vocabulary"), std::string::npos);
  s = big.submit(greedy_request({1}, 0), nullptr);
  EXPECT_EQ(s.code, SubmitCode::kInvalid);
  EXPECT_NE(s.message.find("max_tokens"), std::string::npos);
  Request bad = greedy_request({1}, 1);
  bad.sampling.top_p = 0.0f;
  s = big.submit(bad, nullptr);
  EXPECT_EQ(s.code, SubmitCode::kInvalid);
  EXPECT_NE(s.message.find("top_p"), std::string::npos);
  EXPECT_EQ(big.stats().requests_refused, 0u);
  EXPECT_EQ(big.n_vocab(), 64u);
  EXPECT_EQ(big.max_positions(), 32u);
}

TEST(Engine, ForwardErrorFinishesTheStepsRequests) {
  auto log = std::make_shared<FakeLog>();
  log->fail_on_call = 2;
  std::deque<Collector> cs(3);
  Engine e(fake(64, 4, 256, log));
  log->close_gate();
  ASSERT_EQ(e.submit(greedy_request(make_prompt(4, 1), 5), cs[0].callback()).code, SubmitCode::kOk);
  log->wait_calls_started(1);
  ASSERT_EQ(e.submit(greedy_request(make_prompt(4, 2), 5), cs[1].callback()).code, SubmitCode::kOk);
  log->open_gate();
  cs[0].wait();
  cs[1].wait();
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(cs[i].last.finish, FinishReason::kError);
    EXPECT_NE(cs[i].last.error.find("fake failure"), std::string::npos);
  }
  // The engine goes on.
  const auto p = make_prompt(6, 3);
  ASSERT_EQ(e.submit(greedy_request(p, 4), cs[2].callback()).code, SubmitCode::kOk);
  cs[2].wait();
  EXPECT_EQ(cs[2].last.finish, FinishReason::kLength);
  EXPECT_EQ(cs[2].tokens, fake_greedy(p, 4, {}, 256));
  EXPECT_EQ(e.stats().kv_blocks_used, 0u);
}

TEST(Engine, LogprobsAndLogitsProcessorReachTheCallback) {
  Collector c;
  std::vector<size_t> seen_lengths;
  Request r = greedy_request(make_prompt(5, 8), 4);
  r.sampling.logprobs = 3;
  // Forces token 7 at every step; records how much output it was shown.
  r.logits_processor = [&](std::span<const int32_t> generated, std::span<float> logits) {
    seen_lengths.push_back(generated.size());
    for (size_t v = 0; v < logits.size(); ++v) logits[v] = v == 7 ? 0.0f : -INFINITY;
  };
  {
    Engine e(fake(64, 4, 256));
    ASSERT_EQ(e.submit(r, c.callback()).code, SubmitCode::kOk);
    c.wait();
  }
  EXPECT_EQ(c.tokens, std::vector<int32_t>(4, 7));
  EXPECT_EQ(seen_lengths, (std::vector<size_t>{0, 1, 2, 3}));
  ASSERT_EQ(c.logprobs.size(), 4u);
  for (const auto& lp : c.logprobs) {
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_GE(lp.top[0].logprob, lp.top[1].logprob);
    EXPECT_GE(lp.top[1].logprob, lp.top[2].logprob);
    EXPECT_LE(lp.logprob, lp.top[0].logprob);  // raw distribution: 7 is not forced there
  }
}

}  // namespace
}  // namespace quarry::engine
