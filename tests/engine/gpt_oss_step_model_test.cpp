// The engine over the real gpt-oss forward pass (tiny synthetic weights):
// concurrent greedy requests, with chunked prefill and a prefix-cache hit,
// give exactly the tokens of the single-sequence decode loop; so do requests
// submitted together that share a prefix computed once (in-flight sharing),
// and so does a long request on a pool that fits it only because the
// sliding-window layers drop the blocks behind their window.
#include <gtest/gtest.h>

#include <deque>

#include "engine/engine.h"
#include "fake_model.h"
#include "model/decode.h"
#include "synthetic.h"

namespace quarry::engine {
namespace {

using model::testing::small_config;
using model::testing::synthetic_weights;

std::vector<int32_t> prompt_ids(size_t n, size_t salt, size_t vocab) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 53 + 17 + salt * 101) % vocab);
  return ids;
}

std::vector<int32_t> decode_alone(const model::GptOssModel& m, ThreadPool& pool,
                                  std::span<const int32_t> prompt, size_t n) {
  model::GptOssForward fwd(m, kernels::ref_ops(), pool);
  auto s = model::Sampler::create({0.0f, 1.0f, 0});
  EXPECT_TRUE(s.ok());
  std::vector<int32_t> out;
  auto st = model::decode(fwd, prompt, {n, {}}, s.value(), [&](int32_t id) {
    out.push_back(id);
    return true;
  });
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.message());
  return out;
}

TEST(GptOssStepModel, ConcurrentGreedyRequestsMatchTheDecodeLoop) {
  model::GptOssConfig c = small_config();
  auto made = model::GptOssModel::create(c, synthetic_weights(c, model::WeightFormat::kHF, 7));
  ASSERT_TRUE(made.ok()) << made.message();
  const model::GptOssModel& m = *made.value();
  ThreadPool pool(2);

  const auto p1 = prompt_ids(11, 0, c.n_vocab), p2 = prompt_ids(6, 1, c.n_vocab);
  std::vector<int32_t> p3(p1.begin(), p1.begin() + 9);  // shares two blocks of 4 with p1
  p3.push_back(5);
  const size_t n_new = 8;
  const auto want1 = decode_alone(m, pool, p1, n_new);
  const auto want2 = decode_alone(m, pool, p2, n_new);
  const auto want3 = decode_alone(m, pool, p3, n_new);

  std::deque<testing::Collector> cs(3);
  EngineOptions o;
  o.max_batch_tokens = 7;  // p1's prompt takes two chunks
  Engine e(make_gpt_oss_step_model(m, kernels::ref_ops(), pool, 32, 4, 5), o);
  EXPECT_EQ(e.n_vocab(), c.n_vocab);
  EXPECT_EQ(e.max_positions(), c.max_position);
  ASSERT_EQ(e.submit(testing::greedy_request(p1, n_new), cs[0].callback()).code, SubmitCode::kOk);
  ASSERT_EQ(e.submit(testing::greedy_request(p2, n_new), cs[1].callback()).code, SubmitCode::kOk);
  cs[0].wait();
  cs[1].wait();
  EXPECT_EQ(cs[0].tokens, want1);
  EXPECT_EQ(cs[1].tokens, want2);

  ASSERT_EQ(e.submit(testing::greedy_request(p3, n_new), cs[2].callback()).code, SubmitCode::kOk);
  cs[2].wait();
  EXPECT_EQ(cs[2].last.cached_tokens, 8u);
  EXPECT_EQ(cs[2].tokens, want3);
  e.shutdown();
  EXPECT_EQ(e.stats().kv_blocks_used, 0u);
}

TEST(GptOssStepModel, SimultaneousSharedPrefixMatchesTheDecodeLoop) {
  model::GptOssConfig c = small_config();
  auto made = model::GptOssModel::create(c, synthetic_weights(c, model::WeightFormat::kHF, 9));
  ASSERT_TRUE(made.ok()) << made.message();
  const model::GptOssModel& m = *made.value();
  ThreadPool pool(2);

  // Three blocks of 4 shared, then distinct tails.
  const auto prefix = prompt_ids(12, 2, c.n_vocab);
  std::vector<std::vector<int32_t>> prompts(3, prefix);
  for (size_t i = 0; i < 3; ++i) {
    for (size_t k = 0; k <= i; ++k)
      prompts[i].push_back(static_cast<int32_t>((7 + 13 * i + k) % c.n_vocab));
  }
  const size_t n_new = 6;
  std::deque<testing::Collector> cs(3);
  EngineOptions o;
  o.max_batch_tokens = 9;  // the leader's prompt takes two chunks
  Engine e(make_gpt_oss_step_model(m, kernels::ref_ops(), pool, 32, 4, 5), o);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(e.submit(testing::greedy_request(prompts[i], n_new), cs[i].callback()).code,
              SubmitCode::kOk);
  }
  for (auto& col : cs) col.wait();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(cs[i].tokens, decode_alone(m, pool, prompts[i], n_new)) << i;
  }
  // The first computes the prefix; the others wait for it and reuse it.
  EXPECT_EQ(cs[0].last.cached_tokens, 0u);
  EXPECT_EQ(cs[1].last.cached_tokens, 12u);
  EXPECT_EQ(cs[2].last.cached_tokens, 12u);
  const EngineStats st = e.stats();
  EXPECT_EQ(st.prefix_hit_tokens, 24u);
  EXPECT_EQ(st.prompt_tokens, 12u + 1u + 2u + 3u);
  e.shutdown();
  EXPECT_EQ(e.stats().kv_blocks_used, 0u);
}

TEST(GptOssStepModel, SlidingWindowLayersDropBlocksAndMatchTheDecodeLoop) {
  model::GptOssConfig c = small_config();  // window 3 on layers 0 and 2
  auto made = model::GptOssModel::create(c, synthetic_weights(c, model::WeightFormat::kHF, 5));
  ASSERT_TRUE(made.ok()) << made.message();
  const model::GptOssModel& m = *made.value();
  ThreadPool pool(2);
  const auto prompt = prompt_ids(30, 3, c.n_vocab);
  const size_t n_new = 10;
  EngineOptions o;
  o.max_batch_tokens = 5;
  // 40 positions in blocks of 2: 20 blocks for the full layers, at most
  // (5 + 3) / 2 + 2 = 6 for the window layers; two full tables would need 40.
  auto step_model = make_gpt_oss_step_model(m, kernels::ref_ops(), pool, 26, 2, 5);
  EXPECT_EQ(step_model->kv_window(), 3u);
  Engine e(std::move(step_model), o);
  testing::Collector col;
  ASSERT_EQ(e.submit(testing::greedy_request(prompt, n_new), col.callback()).code, SubmitCode::kOk);
  col.wait();
  EXPECT_EQ(col.last.finish, FinishReason::kLength);
  EXPECT_EQ(col.tokens, decode_alone(m, pool, prompt, n_new));
  e.shutdown();
  EXPECT_EQ(e.stats().kv_blocks_used, 0u);
}

}  // namespace
}  // namespace quarry::engine
