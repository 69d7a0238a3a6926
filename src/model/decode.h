// The single-sequence decode loop: prefill the prompt in one forward call,
// then sample and feed back one token at a time through the KV cache, handing
// each token to a callback as soon as it exists (the CLI prints it, a server
// streams it). The serving engine will batch sequences; this loop is the
// reference behaviour for one.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/result.h"
#include "model/gpt_oss_forward.h"
#include "model/sampler.h"

namespace quarry::model {

struct DecodeOptions {
  size_t max_tokens = 512;
  // Generation ends after any of these is sampled (it is still reported).
  std::vector<int32_t> stop_ids;
};

enum class DecodeStop {
  kStopToken,    // a stop id was sampled (DecodeStats::stop_token)
  kMaxTokens,    // max_tokens were generated
  kMaxPosition,  // the sequence filled the model's max_position positions
  kCallback,     // on_token returned false
};

struct DecodeStats {
  size_t prompt_tokens = 0;
  size_t generated_tokens = 0;
  // Wall time of the prefill forward call plus the first sample, and of the
  // later forward calls plus their samples; the callback's time is in neither
  // so the rates measure the engine, not the consumer.
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  size_t decode_steps = 0;  // single-token forward calls (generated_tokens - 1 at most)
  DecodeStop stop = DecodeStop::kMaxTokens;
  int32_t stop_token = -1;  // for kStopToken

  double prefill_tokens_per_second() const;
  double decode_tokens_per_second() const;
};

// Called with each generated token in order; return false to stop. May be
// empty (no callback).
using TokenCallback = std::function<bool(int32_t id)>;

// Generates up to options.max_tokens tokens after `prompt`, never past the
// model's max_position (prompt + generated). The KV cache holds exactly the
// positions that can be reached. Errors: empty prompt, a prompt that already
// fills the positions, an id outside the vocabulary, a forward failure.
Result<DecodeStats> decode(GptOssForward& fwd, std::span<const int32_t> prompt,
                           const DecodeOptions& options, Sampler& sampler,
                           const TokenCallback& on_token);

}  // namespace quarry::model
