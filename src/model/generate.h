// Single-sequence helpers over GptOssForward, used by `quarry logits`,
// `quarry generate --jsonl` and the golden tests: each call makes a KV cache
// just large enough for its sequence. (The serving engine batches instead.)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "model/gpt_oss_forward.h"

namespace quarry::model {

// Index of the largest value; ties go to the lowest index.
size_t argmax(const float* x, size_t n);

// Logits after reading ids[0..p] for each p in `positions` (indices into
// ids), as rows of n_vocab floats in the order given.
Result<std::vector<float>> sequence_logits(GptOssForward& fwd, std::span<const int32_t> ids,
                                           std::span<const int32_t> positions);

// Greedy continuation: exactly n_new tokens, argmax with ties to the lowest id,
// no stop on EOS. `margins` (optional) receives top1 - top2 at each step.
Result<std::vector<int32_t>> greedy_generate(GptOssForward& fwd, std::span<const int32_t> prompt,
                                             size_t n_new, std::vector<float>* margins = nullptr);

}  // namespace quarry::model
