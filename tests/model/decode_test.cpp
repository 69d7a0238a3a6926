// The decode loop on synthetic weights: at temperature 0 it is exactly
// greedy_generate (prefill once + KV-cached single-token steps give the same
// logits as the helper), and it stops at a stop id, at max_tokens, at the
// model's last position, or when the callback says so.
#include "model/decode.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "model/generate.h"
#include "synthetic.h"

namespace quarry::model {
namespace {

using testing::small_config;
using testing::synthetic_weights;

std::unique_ptr<GptOssModel> make_model(GptOssConfig c = small_config()) {
  auto src = synthetic_weights(c, WeightFormat::kHF, 7);
  auto m = GptOssModel::create(std::move(c), std::move(src));
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.message());
  return std::move(m.value());
}

Sampler greedy() { return std::move(Sampler::create({0.0f, 1.0f, 0}).value()); }

std::vector<int32_t> prompt_ids(size_t n, size_t vocab) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 53 + 17) % vocab);
  return ids;
}

struct DecodeRun {
  DecodeStats stats;
  std::vector<int32_t> tokens;
};

DecodeRun run(GptOssForward& fwd, std::span<const int32_t> prompt, const DecodeOptions& o,
              Sampler& s, size_t stop_after = SIZE_MAX) {
  DecodeRun r;
  auto st = decode(fwd, prompt, o, s, [&](int32_t id) {
    r.tokens.push_back(id);
    return r.tokens.size() < stop_after;
  });
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.message());
  if (st.ok()) r.stats = st.value();
  return r;
}

TEST(Decode, TemperatureZeroIsGreedyGenerate) {
  auto m = make_model();
  ThreadPool pool(2);
  GptOssForward fwd(*m, kernels::ref_ops(), pool);
  const auto prompt = prompt_ids(7, m->config().n_vocab);
  auto want = greedy_generate(fwd, prompt, 12);
  ASSERT_TRUE(want.ok());

  Sampler s = greedy();
  const DecodeRun r = run(fwd, prompt, {12, {}}, s);
  EXPECT_EQ(r.tokens, want.value());
  EXPECT_EQ(r.stats.prompt_tokens, 7u);
  EXPECT_EQ(r.stats.generated_tokens, 12u);
  EXPECT_EQ(r.stats.decode_steps, 11u);
  EXPECT_EQ(r.stats.stop, DecodeStop::kMaxTokens);
  EXPECT_GE(r.stats.prefill_seconds, 0.0);
  EXPECT_GE(r.stats.decode_seconds, 0.0);
}

TEST(Decode, StopsAtAStopIdAndReportsIt) {
  auto m = make_model();
  ThreadPool pool(2);
  GptOssForward fwd(*m, kernels::ref_ops(), pool);
  const auto prompt = prompt_ids(5, m->config().n_vocab);
  auto g = greedy_generate(fwd, prompt, 16);
  ASSERT_TRUE(g.ok());
  const std::vector<int32_t>& all = g.value();
  // Stop on the token greedy produces 5th; it first appears at index k <= 4.
  const int32_t stop = all[4];
  const size_t k = static_cast<size_t>(std::find(all.begin(), all.end(), stop) - all.begin());

  Sampler s = greedy();
  const DecodeRun r = run(fwd, prompt, {16, {-5, stop}}, s);
  EXPECT_EQ(r.tokens, std::vector<int32_t>(all.begin(), all.begin() + k + 1));
  EXPECT_EQ(r.stats.stop, DecodeStop::kStopToken);
  EXPECT_EQ(r.stats.stop_token, stop);
  EXPECT_EQ(r.stats.generated_tokens, k + 1);
}

TEST(Decode, CallbackCanStopAndMaxTokensZeroGeneratesNothing) {
  auto m = make_model();
  ThreadPool pool(1);
  GptOssForward fwd(*m, kernels::ref_ops(), pool);
  const auto prompt = prompt_ids(4, m->config().n_vocab);
  Sampler s = greedy();
  const DecodeRun r = run(fwd, prompt, {10, {}}, s, 3);
  EXPECT_EQ(r.tokens.size(), 3u);
  EXPECT_EQ(r.stats.stop, DecodeStop::kCallback);

  const DecodeRun none = run(fwd, prompt, {0, {}}, s);
  EXPECT_TRUE(none.tokens.empty());
  EXPECT_EQ(none.stats.generated_tokens, 0u);
  EXPECT_EQ(none.stats.prompt_tokens, 4u);
  EXPECT_EQ(none.stats.stop, DecodeStop::kMaxTokens);

  // No callback at all is allowed.
  auto st = decode(fwd, prompt, {2, {}}, s, nullptr);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->generated_tokens, 2u);
}

TEST(Decode, StopsAtTheModelsLastPosition) {
  GptOssConfig c = small_config();
  c.max_position = 10;
  auto m = make_model(c);
  ThreadPool pool(1);
  GptOssForward fwd(*m, kernels::ref_ops(), pool);
  const auto prompt = prompt_ids(7, c.n_vocab);
  auto want = greedy_generate(fwd, prompt, 3);
  ASSERT_TRUE(want.ok());
  Sampler s = greedy();
  const DecodeRun r = run(fwd, prompt, {50, {}}, s);
  EXPECT_EQ(r.tokens, want.value());
  EXPECT_EQ(r.stats.stop, DecodeStop::kMaxPosition);
  // Exactly as many tokens as the positions allow is still max_tokens.
  const DecodeRun exact = run(fwd, prompt, {3, {}}, s);
  EXPECT_EQ(exact.stats.stop, DecodeStop::kMaxTokens);

  const auto full = prompt_ids(10, c.n_vocab);
  auto err = decode(fwd, full, {1, {}}, s, nullptr);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.message().find("10 positions"), std::string::npos) << err.message();
}

TEST(Decode, BadInputsAreErrors) {
  auto m = make_model();
  ThreadPool pool(1);
  GptOssForward fwd(*m, kernels::ref_ops(), pool);
  Sampler s = greedy();
  auto empty = decode(fwd, {}, {4, {}}, s, nullptr);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.message().find("prompt"), std::string::npos);
  const std::vector<int32_t> bad = {1, 300};
  auto oov = decode(fwd, bad, {4, {}}, s, nullptr);
  ASSERT_FALSE(oov.ok());
  EXPECT_NE(oov.message().find("outside the vocabulary"), std::string::npos) << oov.message();
}

TEST(Decode, SeededSamplingIsReproducible) {
  auto m = make_model();
  ThreadPool pool(2);
  GptOssForward fwd(*m, kernels::ref_ops(), pool);
  const auto prompt = prompt_ids(6, m->config().n_vocab);
  auto sample = [&](uint64_t seed) {
    Sampler s = std::move(Sampler::create({1.0f, 0.95f, seed}).value());
    return run(fwd, prompt, {20, {}}, s).tokens;
  };
  const auto a = sample(1), b = sample(1), c = sample(2);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 20u);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace quarry::model
