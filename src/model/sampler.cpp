#include "model/sampler.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <iterator>
#include <string>

#include "model/generate.h"

namespace quarry::model {
namespace {

std::string show(float f) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  return std::string(buf, r.ptr);
}

// exp(x) in float for x <= 0 (the largest logit gives exactly 1): Cephes'
// expf polynomial, within 1e-7 relative of exp. NaN and x < -87 (where expf
// goes denormal) give 0. The loop over 201088 logits must vectorise (std::exp
// in double took ~3 ms per token): no calls, and no float comparison, since
// under GCC's default -ftrapping-math a select on one stops vectorisation.
// So the range test is done on the bits: with the sign bit forced on (+0 ->
// -0, NaN -> a negative NaN), x >= -87 exactly when bits <= bits(-87), and
// the sign of bits(-87) - bits gives an all-ones/all-zeros mask.
inline float softmax_exp(float x) {
  constexpr uint32_t kLow = std::bit_cast<uint32_t>(-87.0f);
  const uint32_t ub = std::bit_cast<uint32_t>(x) | 0x80000000u;
  const uint32_t keep = ~static_cast<uint32_t>(static_cast<int32_t>(kLow - ub) >> 31);
  const float xc = std::bit_cast<float>((ub & keep) | (kLow & ~keep));
  const float n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;  // round(x / ln 2)
  float r = xc - n * 0.693359375f;                                 // ln 2 in two parts
  r -= n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);  // 2^n
  return std::bit_cast<float>(std::bit_cast<uint32_t>(y * scale) & keep);
}

}  // namespace

Status validate_sampling(const SamplingParams& p, std::string_view temperature_name,
                         std::string_view top_p_name) {
  if (!std::isfinite(p.temperature) || p.temperature < 0.0f) {
    return make_error(std::string(temperature_name) + ": " + show(p.temperature) +
                      " is not a finite number >= 0 (0 = greedy)");
  }
  // Written so that NaN fails too.
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) {
    return make_error(std::string(top_p_name) + ": " + show(p.top_p) + " is not in (0, 1]");
  }
  return Status::Ok();
}

Result<Sampler> Sampler::create(const SamplingParams& p) {
  if (Status s = validate_sampling(p); !s.ok()) return Error{s.message()};
  return Sampler(p);
}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

int32_t Sampler::sample(std::span<const float> logits) {
  const size_t n = logits.size();
  if (n == 0) return -1;
  const float inv_t = 1.0f / p_.temperature;  // +inf for T = 0 (or a denormal T)
  if (!std::isfinite(inv_t)) return static_cast<int32_t>(argmax(logits.data(), n));

  // The largest logit, in four independent lanes (a float max does not
  // vectorise without -ffast-math; one chain would be latency-bound).
  const float* l = logits.data();
  float lane_max[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (size_t j = 0; j < 4; ++j) lane_max[j] = l[i + j] > lane_max[j] ? l[i + j] : lane_max[j];
  }
  for (; i < n; ++i) lane_max[0] = l[i] > lane_max[0] ? l[i] : lane_max[0];  // NaN never wins
  const float m = std::max(std::max(lane_max[0], lane_max[1]), std::max(lane_max[2], lane_max[3]));
  // Every logit -inf or NaN: nothing has a probability; argmax keeps the
  // result defined. A +inf logit takes all the mass (the first one wins).
  if (!(m > -INFINITY) || m == INFINITY) return static_cast<int32_t>(argmax(logits.data(), n));

  w_.resize(n);
  float* w = w_.data();
  for (size_t k = 0; k < n; ++k) w[k] = softmax_exp((l[k] - m) * inv_t);
  if (p_.top_p < 1.0f) {
    if (const int32_t only = keep_nucleus(n); only >= 0) return only;
  }
  return draw(n);
}

int32_t Sampler::keep_nucleus(size_t n) {
  // The nucleus is every token up to a boundary token in the order "heavier
  // first, ties to the lower id". The weights are floats in [0, 1], whose bit
  // patterns sort like their values, so the boundary is found by radix
  // selection on the bits: a histogram of mass per bucket of the top 12 bits,
  // walked from the heaviest bucket until the mass reaches top_p; then the
  // same inside that bucket on the next 12 bits, then the last 8. What is left
  // are tokens of one exact weight, taken in id order. One pass over the
  // vocabulary, then passes over ever fewer tokens, and no sort: a few tenths
  // of a ms for 201088 tokens, peaked or flat, where sorting a flat
  // distribution's nucleus took several ms.
  struct Level {
    int shift;
    uint32_t buckets;
  };
  // Weights are <= 1, so the top 12 bits are at most 0x3F8: 1024 buckets.
  constexpr Level kLevels[] = {{20, 1u << 10}, {8, 1u << 12}, {0, 1u << 8}};
  const float* w = w_.data();
  const auto bits = [&](size_t k) { return std::bit_cast<uint32_t>(w[k]); };

  double need = 0.0;       // mass still to take inside the current bucket
  size_t kept_before = 0;  // tokens in heavier buckets (all kept)
  for (size_t li = 0; li < std::size(kLevels); ++li) {
    const Level lv = kLevels[li];
    mass_.assign(lv.buckets, 0.0);
    count_.assign(lv.buckets, 0);
    const auto bucket = [&](size_t k) { return (bits(k) >> lv.shift) & (lv.buckets - 1); };
    if (li == 0) {
      for (size_t k = 0; k < n; ++k) {
        const uint32_t b = bucket(k);
        mass_[b] += w[k];
        ++count_[b];
      }
      double total = 0.0;
      for (double x : mass_) total += x;
      need = static_cast<double>(p_.top_p) * total;
    } else {
      for (int32_t k : ids_) {
        const uint32_t b = bucket(static_cast<size_t>(k));
        mass_[b] += w[k];
        ++count_[b];
      }
    }
    // Heaviest bucket first; zero-weight tokens (bucket 0 of level 0) never
    // count. If rounding keeps the mass just short of `need`, the lightest
    // bucket with mass is taken whole.
    double acc = 0.0;
    size_t before = 0;
    uint32_t chosen = 0;  // always set: the bucket chosen one level up has mass
    bool reached = false;
    for (uint32_t b = lv.buckets; b-- > 0;) {
      if (mass_[b] <= 0.0) continue;
      chosen = b;
      if (acc + mass_[b] >= need) {
        reached = true;
        break;
      }
      acc += mass_[b];
      before += count_[b];
    }
    if (reached) {
      need -= acc;
    } else {
      before -= count_[chosen];
      need = mass_[chosen];
    }
    kept_before += before;
    // The tokens of the chosen bucket, in id order.
    if (li == 0) {
      ids_.clear();
      for (size_t k = 0; k < n; ++k) {
        if (bucket(k) == chosen) ids_.push_back(static_cast<int32_t>(k));
      }
    } else {
      std::erase_if(ids_, [&](int32_t k) { return bucket(static_cast<size_t>(k)) != chosen; });
    }
  }

  // All of ids_ weigh the same: take them in id order up to `need`.
  size_t taken = 0;
  double acc = 0.0;
  while (taken < ids_.size()) {
    acc += w[ids_[taken]];
    ++taken;
    if (acc >= need) break;
  }
  const int32_t boundary = ids_[taken - 1];
  // One survivor: no draw, so a tiny top_p is exactly greedy.
  if (kept_before + taken == 1) return boundary;

  // Zero every weight outside the nucleus: lighter than the boundary (a
  // branch-free pass on the bits), then the equal-weight tokens after it.
  const uint32_t wb = bits(static_cast<size_t>(boundary));
  float* wm = w_.data();
  for (size_t k = 0; k < n; ++k) {
    const uint32_t u = std::bit_cast<uint32_t>(wm[k]);
    wm[k] = std::bit_cast<float>(u & (0u - static_cast<uint32_t>(u >= wb)));
  }
  for (size_t j = taken; j < ids_.size(); ++j) wm[ids_[j]] = 0.0f;
  return -1;
}

int32_t Sampler::draw(size_t n) {
  // Inverse CDF in id order. Block sums first (double, four lanes: float
  // would lose the small weights of a 201088-token vocabulary), so the draw
  // scans one block instead of half the vocabulary.
  const float* w = w_.data();
  const size_t n_blocks = (n + kDrawBlock - 1) / kDrawBlock;
  block_.resize(n_blocks);
  double total = 0.0;
  for (size_t b = 0; b < n_blocks; ++b) {
    const size_t lo = b * kDrawBlock, hi = std::min(n, lo + kDrawBlock);
    double lane[4] = {0.0, 0.0, 0.0, 0.0};
    size_t k = lo;
    for (; k + 4 <= hi; k += 4) {
      for (size_t j = 0; j < 4; ++j) lane[j] += w[k + j];
    }
    for (; k < hi; ++k) lane[0] += w[k];
    block_[b] = (lane[0] + lane[1]) + (lane[2] + lane[3]);
    total += block_[b];
  }
  const double target = uniform() * total;
  double acc = 0.0;
  for (size_t b = 0; b < n_blocks; ++b) {
    if (acc + block_[b] <= target) {
      acc += block_[b];
      continue;
    }
    const size_t lo = b * kDrawBlock, hi = std::min(n, lo + kDrawBlock);
    for (size_t k = lo; k < hi; ++k) {
      if (w[k] <= 0.0f) continue;
      acc += w[k];
      if (acc > target) return static_cast<int32_t>(k);
    }
    // Summed in another order than its lanes, the block fell just short:
    // the target is at its end, which the next blocks continue.
  }
  // Rounding left the target unreached: the last token with mass.
  size_t k = n;
  while (k > 0 && w[k - 1] <= 0.0f) --k;
  return static_cast<int32_t>(k > 0 ? k - 1 : 0);
}

}  // namespace quarry::model
