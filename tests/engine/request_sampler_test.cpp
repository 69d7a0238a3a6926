// Per-request sampling on hand-made logits: validation, greedy and top_k=1,
// min_p, the penalties, logit_bias, logprobs, the logits processor, and
// seeded draws.
#include "engine/request_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "model/generate.h"

namespace quarry::engine {
namespace {

std::unique_ptr<RequestSampler> make(const SamplingOptions& o, uint64_t seed = 1) {
  auto r = RequestSampler::create(o, seed);
  EXPECT_TRUE(r.ok());
  return std::move(r.value());
}

int32_t once(const SamplingOptions& o, std::vector<float> logits, std::vector<int32_t> prompt = {},
             std::vector<int32_t> output = {}, uint64_t seed = 1) {
  return make(o, seed)->sample(logits, prompt, output, nullptr, nullptr);
}

std::vector<float> random_logits(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::vector<float> l(n);
  for (float& x : l) x = d(rng);
  return l;
}

TEST(Sampling, ValidateNamesTheField) {
  const auto field = [](SamplingOptions s) {
    const Status st = validate(s, 100);
    return st.ok() ? std::string("ok") : st.message().substr(0, st.message().find(':'));
  };
  SamplingOptions s;
  EXPECT_EQ(field(s), "ok");
  s = {};
  s.temperature = -1;
  EXPECT_EQ(field(s), "temperature");
  s.temperature = NAN;
  EXPECT_EQ(field(s), "temperature");
  s = {};
  s.top_p = 0;
  EXPECT_EQ(field(s), "top_p");
  s.top_p = 1.5f;
  EXPECT_EQ(field(s), "top_p");
  s = {};
  s.top_k = -2;
  EXPECT_EQ(field(s), "top_k");
  s.top_k = -1;
  EXPECT_EQ(field(s), "ok");
  s = {};
  s.min_p = 1.1f;
  EXPECT_EQ(field(s), "min_p");
  s = {};
  s.presence_penalty = 2.5f;
  EXPECT_EQ(field(s), "presence_penalty");
  s = {};
  s.frequency_penalty = -2.5f;
  EXPECT_EQ(field(s), "frequency_penalty");
  s = {};
  s.repetition_penalty = 0;
  EXPECT_EQ(field(s), "repetition_penalty");
  s = {};
  s.logit_bias = {{100, 1.0f}};
  EXPECT_EQ(field(s), "logit_bias");
  s.logit_bias = {{5, 101.0f}};
  EXPECT_EQ(field(s), "logit_bias");
  s.logit_bias = {{99, -100.0f}};
  EXPECT_EQ(field(s), "ok");
  s = {};
  s.logprobs = 21;
  EXPECT_EQ(field(s), "logprobs");
  s.logprobs = 20;
  EXPECT_EQ(field(s), "ok");
}

TEST(Sampling, GreedyAndTopKOneAreArgmax) {
  for (uint32_t seed = 0; seed < 20; ++seed) {
    auto l = random_logits(500, seed);
    const auto best = static_cast<int32_t>(model::argmax(l.data(), l.size()));
    SamplingOptions greedy;
    greedy.temperature = 0;
    EXPECT_EQ(once(greedy, l), best);
    SamplingOptions k1;
    k1.top_k = 1;
    k1.temperature = 1.5f;
    EXPECT_EQ(once(k1, l, {}, {}, seed), best);
  }
  // Ties go to the lowest id.
  SamplingOptions greedy;
  greedy.temperature = 0;
  EXPECT_EQ(once(greedy, {1, 3, 3, 2}), 1);
}

TEST(Sampling, TopKAndMinPKeepOnlyTheirTokens) {
  const std::vector<float> l = {0.0f, -0.1f, -5.0f, -10.0f, -0.3f, -20.0f};
  SamplingOptions mp;
  mp.min_p = 0.5f;  // keeps p >= p_max / 2: logits >= ln 0.5 = -0.69
  std::set<int32_t> seen;
  for (uint64_t seed = 0; seed < 300; ++seed) seen.insert(once(mp, l, {}, {}, seed));
  EXPECT_EQ(seen, (std::set<int32_t>{0, 1, 4}));

  SamplingOptions k2;
  k2.top_k = 2;
  seen.clear();
  for (uint64_t seed = 0; seed < 300; ++seed) seen.insert(once(k2, l, {}, {}, seed));
  EXPECT_EQ(seen, (std::set<int32_t>{0, 1}));
}

TEST(Sampling, PenaltiesAndBiasMoveTheChoice) {
  SamplingOptions o;
  o.temperature = 0;
  const std::vector<float> l = {2.0f, 1.9f, -1.0f, -1.1f, 0.5f};
  EXPECT_EQ(once(o, l), 0);
  // Repetition (vLLM): a positive logit is divided, over prompt tokens too.
  o.repetition_penalty = 1.2f;
  EXPECT_EQ(once(o, l, {0}), 1);
  EXPECT_EQ(once(o, l, {}, {0}), 1);
  EXPECT_EQ(once(o, l, {3}), 0);
  // ... and a negative one multiplied.
  const std::vector<float> neg = {-5.0f, -1.0f, -1.1f};
  EXPECT_EQ(once(o, neg, {1}), 2);
  o.repetition_penalty = 1.0f;
  // Presence (OpenAI): once per generated token kind, never over the prompt.
  o.presence_penalty = 0.5f;
  EXPECT_EQ(once(o, l, {}, {0}), 1);
  EXPECT_EQ(once(o, l, {0}, {}), 0);
  o.presence_penalty = 0.0f;
  // Frequency: per occurrence.
  o.frequency_penalty = 0.05f;
  EXPECT_EQ(once(o, l, {}, {0, 0, 0}), 1);
  EXPECT_EQ(once(o, l, {}, {0}), 0);
  o.frequency_penalty = 0.0f;
  // A negative penalty encourages repeats.
  o.presence_penalty = -2.0f;
  EXPECT_EQ(once(o, l, {}, {4}), 4);
  o.presence_penalty = 0.0f;
  o.logit_bias = {{2, 3.5f}};
  EXPECT_EQ(once(o, l), 2);
  o.logit_bias = {{0, -100.0f}};
  EXPECT_EQ(once(o, l), 1);
}

TEST(Sampling, PenaltyCountsFollowAGrowingOutput) {
  SamplingOptions o;
  o.temperature = 0;
  o.frequency_penalty = 0.04f;
  auto s = make(o);
  const std::vector<float> l = {2.0f, 1.9f};
  std::vector<int32_t> out;
  std::vector<int32_t> got;
  for (int i = 0; i < 4; ++i) {
    std::vector<float> row = l;
    got.push_back(s->sample(row, {}, out, nullptr, nullptr));
    out.push_back(got.back());
  }
  // 2.0 - 0.04 k stays above 1.9 for k = 0, 1, 2 generated zeros, not for 3.
  EXPECT_EQ(got, (std::vector<int32_t>{0, 0, 0, 1}));
}

TEST(Sampling, LogprobsAreTheRawLogSoftmax) {
  auto l = random_logits(1000, 5);
  l[17] = l[18] = 12.0f;  // a tie at the top: lower id first
  SamplingOptions o;
  o.temperature = 0.7f;
  o.logprobs = 5;
  o.logit_bias = {{3, 100.0f}};  // changes the choice, not the reported distribution
  auto s = make(o);
  std::vector<float> row = l;
  SampledLogprobs lp;
  const int32_t id = s->sample(row, {}, {}, nullptr, &lp);
  EXPECT_EQ(id, 3);
  double m = -INFINITY, sum = 0.0;
  for (float x : l) m = std::max(m, static_cast<double>(x));
  for (float x : l) sum += std::exp(x - m);
  const double lse = m + std::log(sum);
  EXPECT_NEAR(lp.logprob, l[3] - lse, 1e-4);
  ASSERT_EQ(lp.top.size(), 5u);
  EXPECT_EQ(lp.top[0].id, 17);
  EXPECT_EQ(lp.top[1].id, 18);
  std::vector<float> sorted = l;
  std::sort(sorted.begin(), sorted.end(), std::greater<float>());
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(lp.top[i].logprob, sorted[i] - lse, 1e-4);
    if (i > 0) {
      EXPECT_GE(lp.top[i - 1].logprob, lp.top[i].logprob);
    }
  }
  o.logprobs = 0;
  auto s0 = make(o);
  row = l;
  s0->sample(row, {}, {}, nullptr, &lp);
  EXPECT_TRUE(lp.top.empty());
}

TEST(Sampling, TheProcessorRunsFirstWithTheOutputSoFar) {
  SamplingOptions o;
  o.temperature = 1.0f;
  o.logit_bias = {{2, 50.0f}};  // cannot revive a token the processor removed
  std::vector<int32_t> seen;
  const LogitsProcessor only5 = [&](std::span<const int32_t> gen, std::span<float> logits) {
    seen.assign(gen.begin(), gen.end());
    for (size_t v = 0; v < logits.size(); ++v) logits[v] = v == 5 ? logits[v] : -INFINITY;
  };
  auto s = make(o);
  auto row = random_logits(10, 1);
  const std::vector<int32_t> out = {4, 4, 1};
  EXPECT_EQ(s->sample(row, {}, out, only5, nullptr), 5);
  EXPECT_EQ(seen, out);
}

TEST(Sampling, TheSameSeedGivesTheSameDraws) {
  SamplingOptions o;
  o.temperature = 1.0f;
  o.top_p = 0.9f;
  o.top_k = 40;
  const auto draws = [&](uint64_t seed) {
    auto s = make(o, seed);
    std::vector<int32_t> r;
    for (uint32_t i = 0; i < 50; ++i) {
      auto row = random_logits(300, i);
      r.push_back(s->sample(row, {}, {}, nullptr, nullptr));
    }
    return r;
  };
  EXPECT_EQ(draws(42), draws(42));
  EXPECT_NE(draws(42), draws(43));
}

TEST(Sampling, TopValuesMatchesASort) {
  std::mt19937 rng(9);
  for (int round = 0; round < 20; ++round) {
    std::vector<float> x(200);
    for (float& v : x) v = static_cast<float>(rng() % 30);  // many ties
    x[7] = NAN;
    const size_t k = 1 + rng() % 50;
    const auto top = top_values(x, k);
    std::vector<std::pair<float, int32_t>> all;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!std::isnan(x[i])) all.emplace_back(x[i], static_cast<int32_t>(i));
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    all.resize(k);
    EXPECT_EQ(top, all);
  }
}

TEST(Sampling, AFullSizeVocabularyWithEveryOption) {
  const size_t n = 201088;
  auto l = random_logits(n, 77);
  SamplingOptions o;
  o.temperature = 0.8f;
  o.top_k = 50;
  o.min_p = 0.05f;
  o.top_p = 0.9f;
  o.repetition_penalty = 1.1f;
  o.presence_penalty = 0.3f;
  o.frequency_penalty = 0.2f;
  o.logprobs = 20;
  o.seed = 3;
  auto s = make(o, 3);
  SampledLogprobs lp;
  std::vector<int32_t> out;
  for (int i = 0; i < 5; ++i) {
    std::vector<float> row = l;
    const int32_t id = s->sample(row, std::vector<int32_t>{1, 2, 3}, out, nullptr, &lp);
    ASSERT_GE(id, 0);
    ASSERT_LT(static_cast<size_t>(id), n);
    out.push_back(id);
    EXPECT_EQ(lp.top.size(), 20u);
  }
  // A large top_k takes the selection path.
  o.top_k = 10000;
  o.min_p = 0;
  std::vector<float> row = l;
  EXPECT_GE(make(o)->sample(row, {}, {}, nullptr, nullptr), 0);
}

}  // namespace
}  // namespace quarry::engine
