// The generation fields the OpenAI endpoints share (temperature, top_p, n,
// stop, seed, penalties, logit_bias, logprobs, the token cap, stream), read
// and range-checked from a request body. Errors name the field as `param`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "engine/engine.h"

namespace quarry::api {

enum class Endpoint { kChat, kCompletions, kResponses };

struct GenerationParams {
  engine::SamplingOptions sampling;
  std::optional<size_t> max_tokens;  // absent: up to the context window
  size_t n = 1;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;
  int top_logprobs = -1;  // -1: no logprobs
  bool echo = false;      // completions only
};

// Fills `out` from `body` (an object); nullopt on success.
std::optional<ApiError> parse_generation_params(const nlohmann::ordered_json& body,
                                                Endpoint endpoint, size_t n_vocab,
                                                GenerationParams& out);

}  // namespace quarry::api
