// gpt-oss as a Hugging Face model directory in the release layout (spec §3):
// config.json and generation_config.json with the release's keys, sharded
// safetensors named model-00000-of-0000N ... with model.safetensors.index.json,
// and tokenizer.json when the vocabulary is o200k_harmony's.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "base/thread_pool.h"
#include "convert/hf_rows.h"
#include "formats/tensor_spec.h"
#include "tokenizer/tokenizer.h"

namespace quarry::convert {

// config.json / generation_config.json text for `c` (2-space indented, the
// release's key order).
std::string hf_config_json(const GptOssConfig& c);
std::string hf_generation_config_json(const GptOssConfig& c);

struct HfExport {
  uint64_t max_shard_bytes = 4'800'000'000;  // as the release
  const tokenizer::Tokenizer* tokenizer;     // null: no tokenizer.json
  formats::WriteProgress progress;
};

// Writes the directory (created if needed); returns the shard file names.
Result<std::vector<std::string>> write_hf_checkpoint(const std::string& dir, const GptOssConfig& c,
                                                     const HfRows& rows, const HfExport& options,
                                                     ThreadPool& pool);

}  // namespace quarry::convert
