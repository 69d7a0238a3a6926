// One request's token sampler: its SamplingOptions applied to a row of
// logits (processor, bias, penalties, top_k, min_p, then temperature, top_p
// and a draw from the request's own seeded generator, in model::Sampler), plus
// the logprobs of the raw distribution. Each request has its own generator,
// so its draws do not depend on what else is in the batch.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/result.h"
#include "engine/engine.h"
#include "model/sampler.h"

namespace quarry::engine {

// The `k` largest values of `x` as (value, id), descending, ties to the lower
// id; NaN never selected. One pass with a k-sized heap: for the 201088-token
// vocabulary almost every value is rejected by one comparison.
std::vector<std::pair<float, int32_t>> top_values(std::span<const float> x, size_t k);

class RequestSampler {
 public:
  // `options` must have passed validate(); `seed` replaces options.seed.
  static Result<std::unique_ptr<RequestSampler>> create(const SamplingOptions& options,
                                                        uint64_t seed);

  // The next token for `logits` (one row, the whole vocabulary; modified in
  // place). `prompt` and `output` are the request's tokens so far (`output`
  // only grows between calls). `logprobs`, when not null and requested, gets
  // the sampled token's logprob and the top alternatives of the raw logits.
  int32_t sample(std::span<float> logits, std::span<const int32_t> prompt,
                 std::span<const int32_t> output, const LogitsProcessor& processor,
                 SampledLogprobs* logprobs);

  const SamplingOptions& options() const { return o_; }

 private:
  RequestSampler(const SamplingOptions& o, model::Sampler s) : o_(o), draw_(std::move(s)) {}

  void apply_penalties(std::span<float> logits, std::span<const int32_t> prompt,
                       std::span<const int32_t> output);
  void apply_top_k(std::span<float> logits) const;
  void apply_min_p(std::span<float> logits) const;

  SamplingOptions o_;
  model::Sampler draw_;  // temperature, top_p and the seeded draw
  // Penalty state, kept between calls: counts of the output tokens (counted_
  // of them so far) and the prompt's distinct ids, sorted.
  std::unordered_map<int32_t, int32_t> out_counts_;
  size_t counted_ = 0;
  std::vector<int32_t> prompt_ids_;
  bool prompt_ids_ready_ = false;
  std::vector<float> raw_;  // the raw logits, when logprobs are requested
};

}  // namespace quarry::engine
