// Model shapes for `quarry synth`: the two release presets and custom dims.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "model/gpt_oss_config.h"

namespace quarry::convert {

using model::GptOssConfig;

// "gpt-oss-20b" or "gpt-oss-120b": every number of the release config.json
// (spec §1), special token ids included.
Result<GptOssConfig> preset_config(const std::string& name);
std::vector<std::string> preset_names();

// Overrides on top of a preset (unset = the preset's value).
struct Dims {
  std::optional<size_t> layers, hidden, intermediate, experts, top_k, heads, kv_heads, head_dim,
      window, vocab, max_position;
};

// The preset with `dims` applied: layer types alternate sliding/full from
// layer 0; the intermediate size follows --hidden unless given; special ids
// are the release's for the full vocabulary, else the top ids of a smaller
// one (bos V-5, pad V-4, eos V-3, V-4, V-2, as the tiny goldens do). The result
// is validated (MXFP4 needs hidden and intermediate sizes divisible by 32 ...).
Result<GptOssConfig> synth_config(const std::string& preset, const Dims& dims);

}  // namespace quarry::convert
