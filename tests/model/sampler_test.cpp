// The sampler: greedy and its tie rule, nucleus cut-off, masked (-inf)
// tokens, seeded reproducibility and the empirical distribution of draws.
#include "model/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <random>

#include "model/generate.h"

namespace quarry::model {
namespace {

Sampler make(float temperature, float top_p, uint64_t seed = 1) {
  auto s = Sampler::create({temperature, top_p, seed});
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.message());
  return std::move(s.value());
}

std::vector<float> random_logits(size_t n, uint32_t seed, float scale = 5.0f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

// Logits whose softmax (at T = 1) is exactly `probs`, up to rounding.
std::vector<float> logits_of(std::initializer_list<double> probs) {
  std::vector<float> v;
  for (double p : probs) v.push_back(static_cast<float>(std::log(p)));
  return v;
}

std::vector<size_t> histogram(Sampler& s, std::span<const float> logits, size_t draws) {
  std::vector<size_t> h(logits.size(), 0);
  for (size_t i = 0; i < draws; ++i) {
    const int32_t id = s.sample(logits);
    EXPECT_GE(id, 0);
    EXPECT_LT(static_cast<size_t>(id), logits.size());
    ++h[static_cast<size_t>(id)];
  }
  return h;
}

TEST(Sampler, GreedyTiesGoToTheLowestId) {
  const std::vector<float> logits = {1.0f, 3.0f, 3.0f, 2.0f, 3.0f};
  Sampler s = make(0.0f, 1.0f);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(logits), 1);
  // A tiny nucleus keeps one token, chosen by the same rule.
  Sampler t = make(1.0f, 1e-6f);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(t.sample(logits), 1);
}

TEST(Sampler, TemperatureZeroIsArgmax) {
  Sampler s = make(0.0f, 0.5f, 99);
  for (uint32_t r = 0; r < 20; ++r) {
    const auto logits = random_logits(1000, r);
    EXPECT_EQ(s.sample(logits), static_cast<int32_t>(argmax(logits.data(), logits.size())));
  }
}

TEST(Sampler, TinyTopPIsArgmax) {
  Sampler s = make(1.0f, 1e-6f, 5);
  for (uint32_t r = 0; r < 20; ++r) {
    const auto logits = random_logits(1000, r + 100);
    EXPECT_EQ(s.sample(logits), static_cast<int32_t>(argmax(logits.data(), logits.size())));
  }
}

TEST(Sampler, SameSeedSameDraws) {
  const auto logits = random_logits(201088, 3, 3.0f);
  for (float top_p : {1.0f, 0.9f}) {
    Sampler a = make(0.8f, top_p, 42), b = make(0.8f, top_p, 42), c = make(0.8f, top_p, 43);
    std::vector<int32_t> da, db, dc;
    for (int i = 0; i < 200; ++i) {
      da.push_back(a.sample(logits));
      db.push_back(b.sample(logits));
      dc.push_back(c.sample(logits));
    }
    EXPECT_EQ(da, db) << "top_p " << top_p;
    EXPECT_NE(da, dc) << "top_p " << top_p;  // the seed matters
  }
}

// The draws come from mt19937_64's standard-defined output and our own
// 53-bit conversion, so a fixed seed gives these ids on every platform.
TEST(Sampler, DrawsArePinnedForAFixedSeed) {
  const auto logits = logits_of({0.5, 0.3, 0.2});
  Sampler s = make(1.0f, 1.0f, 2024);
  std::vector<int32_t> got;
  for (int i = 0; i < 16; ++i) got.push_back(s.sample(logits));
  // u = (mt19937_64(2024) >> 11) / 2^53, id = first with cumulative p > u.
  std::mt19937_64 g(2024);
  std::vector<int32_t> want;
  for (int i = 0; i < 16; ++i) {
    const double u = static_cast<double>(g() >> 11) * 0x1.0p-53;
    want.push_back(u < 0.5 ? 0 : u < 0.8 ? 1 : 2);
  }
  EXPECT_EQ(got, want);
  // [rand.predef]: the 10000th output of a default-constructed mt19937_64.
  std::mt19937_64 d;
  d.discard(9999);
  EXPECT_EQ(d(), 9981545732273789042ull);
}

TEST(Sampler, EmpiricalFrequenciesMatchTheSoftmax) {
  const auto logits = logits_of({0.5, 0.3, 0.2});
  Sampler s = make(1.0f, 1.0f, 7);
  constexpr size_t kDraws = 40000;
  const auto h = histogram(s, logits, kDraws);
  // 4 standard deviations of a binomial proportion at n = 40000 is < 0.01.
  EXPECT_NEAR(h[0] / double(kDraws), 0.5, 0.01);
  EXPECT_NEAR(h[1] / double(kDraws), 0.3, 0.01);
  EXPECT_NEAR(h[2] / double(kDraws), 0.2, 0.01);

  // Temperature 2 flattens: p ∝ sqrt(0.5, 0.3, 0.2).
  Sampler hot = make(2.0f, 1.0f, 8);
  const auto g = histogram(hot, logits, kDraws);
  const double z = std::sqrt(0.5) + std::sqrt(0.3) + std::sqrt(0.2);
  EXPECT_NEAR(g[0] / double(kDraws), std::sqrt(0.5) / z, 0.01);
  EXPECT_NEAR(g[2] / double(kDraws), std::sqrt(0.2) / z, 0.01);
}

TEST(Sampler, TopPCutsTheTail) {
  // Nucleus for 0.7: {0 (0.5), 1 (0.3)} reaches 0.8; token 2 is outside.
  const auto logits = logits_of({0.3, 0.5, 0.2});
  Sampler s = make(1.0f, 0.7f, 11);
  constexpr size_t kDraws = 20000;
  const auto h = histogram(s, logits, kDraws);
  EXPECT_EQ(h[2], 0u);
  EXPECT_NEAR(h[1] / double(kDraws), 0.5 / 0.8, 0.015);  // renormalised
  // The top token alone reaches 0.45: nothing else is ever drawn.
  Sampler half = make(1.0f, 0.45f, 12);
  const auto g = histogram(half, logits, 200);
  EXPECT_EQ(g[1], 200u);
}

TEST(Sampler, TopPOnALargeFlatTailKeepsTheRightCount) {
  // 1000 equal tokens: top_p 0.25 keeps exactly the 250 lowest ids (ties go
  // to the lower id), drawn about uniformly.
  const std::vector<float> logits(1000, 0.0f);
  Sampler s = make(1.0f, 0.25f, 13);
  const auto h = histogram(s, logits, 20000);
  size_t inside = 0;
  for (size_t i = 0; i < 1000; ++i) {
    if (i < 250) {
      inside += h[i] > 0;
    } else {
      EXPECT_EQ(h[i], 0u) << i;
    }
  }
  EXPECT_GT(inside, 240u);
}

// The nucleus against a sort in double: for top_p halfway between two
// consecutive cumulative masses (so float rounding cannot move the boundary),
// every draw is inside the sorted prefix, and the draws reach deep into it.
TEST(Sampler, NucleusMatchesASortedReference) {
  const size_t n = 5000;
  std::mt19937 g(21);
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> logits(n);
  for (float& x : logits) x = d(g);
  const float m = *std::max_element(logits.begin(), logits.end());
  std::vector<std::pair<double, int32_t>> ref;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    ref.emplace_back(std::exp(static_cast<double>(logits[i]) - m), static_cast<int32_t>(i));
    sum += ref.back().first;
  }
  std::sort(ref.begin(), ref.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  for (size_t want : {2u, 10u, 300u, 2000u}) {
    double below = 0.0;
    for (size_t j = 0; j + 1 < want; ++j) below += ref[j].first;
    const double top_p = (below + 0.5 * ref[want - 1].first) / sum;
    std::vector<bool> inside(n, false);
    for (size_t j = 0; j < want; ++j) inside[static_cast<size_t>(ref[j].second)] = true;
    Sampler s = make(1.0f, static_cast<float>(top_p), want);
    const auto h = histogram(s, logits, 4000);
    size_t seen = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!inside[i]) {
        EXPECT_EQ(h[i], 0u) << "token " << i << " outside a nucleus of " << want;
      }
      seen += h[i] > 0;
    }
    EXPECT_GE(seen, std::min<size_t>(want, 200)) << want;
  }
}

// top_p just below 1: the mass needed is within rounding of the total, the
// path where the selection may fall short and take the lightest bucket whole.
TEST(Sampler, TopPJustBelowOneStaysValid) {
  auto logits = random_logits(201088, 31, 20.0f);
  for (size_t i = 0; i < logits.size(); i += 7) logits[i] = -INFINITY;
  Sampler s = make(1.0f, std::nextafter(1.0f, 0.0f), 4);
  for (int i = 0; i < 50; ++i) {
    const int32_t id = s.sample(logits);
    ASSERT_GE(id, 0);
    ASSERT_LT(static_cast<size_t>(id), logits.size());
    EXPECT_NE(id % 7, 0) << id;
  }
}

TEST(Sampler, MaskedLogitsAreNeverDrawn) {
  const float ninf = -INFINITY;
  const std::vector<float> logits = {ninf, 0.0f, ninf, -1.0f, NAN, ninf};
  for (float t : {0.5f, 1.0f, 100.0f}) {
    for (float top_p : {1.0f, 0.99f}) {
      Sampler s = make(t, top_p, 3);
      const auto h = histogram(s, logits, 3000);
      EXPECT_EQ(h[0] + h[2] + h[4] + h[5], 0u) << "T " << t << " top_p " << top_p;
      EXPECT_GT(h[3], 0u) << "T " << t << " top_p " << top_p;
    }
  }
  // Everything masked but one token.
  const std::vector<float> one = {ninf, ninf, 2.0f, ninf};
  Sampler s = make(1.0f, 1.0f);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.sample(one), 2);
}

TEST(Sampler, InvalidParamsAreRejected) {
  struct Case {
    SamplingParams p;
    const char* names;
  };
  const Case bad[] = {
      {{-1.0f, 1.0f, 0}, "temperature"},    {{NAN, 1.0f, 0}, "temperature"},
      {{INFINITY, 1.0f, 0}, "temperature"}, {{1.0f, 0.0f, 0}, "top_p"},
      {{1.0f, 1.5f, 0}, "top_p"},           {{1.0f, NAN, 0}, "top_p"},
      {{1.0f, -0.1f, 0}, "top_p"},
  };
  for (const Case& c : bad) {
    auto s = Sampler::create(c.p);
    ASSERT_FALSE(s.ok()) << c.names;
    EXPECT_EQ(s.message().rfind(c.names, 0), 0u) << s.message();
  }
  // The caller's spelling of the parameter (the CLI's flags).
  const Status st = validate_sampling({-1.0f, 1.0f, 0}, "--temperature", "--top-p");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--temperature"), std::string::npos) << st.message();
  EXPECT_NE(
      validate_sampling({1.0f, 2.0f, 0}, "--temperature", "--top-p").message().find("--top-p"),
      std::string::npos);
  EXPECT_TRUE(Sampler::create({0.0f, 1.0f, 0}).ok());
  EXPECT_TRUE(Sampler::create({1.5f, 1e-9f, 0}).ok());
}

// Not a benchmark, a guard against an accidental full sort of the vocabulary
// per token (tens of ms): generous enough for sanitizer builds.
TEST(Sampler, FullVocabularyIsFast) {
  const auto logits = random_logits(201088, 17, 10.0f);
  Sampler s = make(1.0f, 0.95f, 1);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) s.sample(logits);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms / 20, 200.0);
}

}  // namespace
}  // namespace quarry::model
