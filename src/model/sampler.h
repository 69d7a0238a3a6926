// Token sampling from one row of logits: greedy argmax, or temperature +
// nucleus (top-p) sampling with a seeded generator whose draws are the same on
// every platform (the engine's outputs must be reproducible from a seed).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace quarry::model {

struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy (argmax, ties to the lowest id)
  float top_p = 1.0f;        // nucleus mass in (0, 1]; 1 keeps every token
  uint64_t seed = 0;
};

// Checks temperature (finite, >= 0) and top_p (in (0, 1]). The message names
// the parameter as the caller spells it: "--top-p" on the command line,
// "top_p" in a JSON request.
Status validate_sampling(const SamplingParams& p, std::string_view temperature_name = "temperature",
                         std::string_view top_p_name = "top_p");

class Sampler {
 public:
  // Fails with validate_sampling's message for invalid parameters.
  static Result<Sampler> create(const SamplingParams& p);

  // The next token for one row of logits (the whole vocabulary). Greedy when
  // temperature is 0; otherwise softmax(logits / T) restricted to the nucleus:
  // the fewest most-probable tokens (ties: lower id first) whose mass reaches
  // top_p. A single-token nucleus takes no random draw, so top_p -> 0 is
  // exactly greedy. -inf (and NaN) logits are never drawn.
  int32_t sample(std::span<const float> logits);

  const SamplingParams& params() const { return p_; }

 private:
  explicit Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

  // A uniform double in [0, 1) from the top 53 bits of one 64-bit draw
  // (std::uniform_real_distribution's algorithm is implementation-defined).
  double uniform();
  // For top_p < 1: zeroes the weights outside the nucleus; returns the token
  // when the nucleus is that one token, else -1.
  int32_t keep_nucleus(size_t n);
  // A draw from w_[0..n) (unnormalised).
  int32_t draw(size_t n);

  static constexpr size_t kDrawBlock = 1024;

  SamplingParams p_;
  std::mt19937_64 rng_;
  // Scratch, kept between calls to avoid reallocating per token.
  std::vector<float> w_;         // [V] weights exp((logit - max) / T)
  std::vector<double> block_;    // draw: mass per block of kDrawBlock tokens
  std::vector<double> mass_;     // nucleus: mass per bucket
  std::vector<uint32_t> count_;  // nucleus: tokens per bucket
  std::vector<int32_t> ids_;     // nucleus: tokens of the current bucket
};

}  // namespace quarry::model
