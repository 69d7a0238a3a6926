// The gpt-oss hyper-parameters (spec §1) as plain data, read from the
// Hugging Face config.json (+ generation_config.json) or GGUF metadata.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "kernels/rope_yarn.h"

namespace quarry::formats {
class GgufFile;
}

namespace quarry::model {

struct GptOssConfig {
  size_t n_layer = 0;          // num_hidden_layers
  size_t d_model = 0;          // hidden_size
  size_t n_expert = 0;         // num_local_experts
  size_t n_expert_active = 0;  // num_experts_per_tok
  size_t d_ff = 0;             // intermediate_size (one expert's width)
  size_t n_head = 0;           // num_attention_heads
  size_t n_kv_head = 0;        // num_key_value_heads
  size_t d_head = 0;           // head_dim
  size_t n_vocab = 0;          // vocab_size
  size_t sliding_window = 0;
  std::vector<bool> layer_sliding;  // per layer: sliding_attention (true) or full_attention
  size_t max_position = 0;          // max_position_embeddings

  // RoPE with YaRN.
  double rope_theta = 0.0;
  double rope_factor = 1.0;
  double rope_original_context = 4096.0;
  double rope_beta_fast = 32.0;
  double rope_beta_slow = 1.0;
  bool rope_truncate = false;
  double rope_attention_factor = 0.0;  // 0: 0.1 ln(factor) + 1

  float rms_norm_eps = 1e-5f;
  float swiglu_limit = 7.0f;
  float swiglu_alpha = 1.702f;

  // Special token ids (-1: unknown). eos_ids: generation_config's list, else config's.
  int64_t bos_id = -1;
  int64_t pad_id = -1;
  std::vector<int64_t> eos_ids;

  size_t q_width() const { return n_head * d_head; }
  size_t kv_width() const { return n_kv_head * d_head; }
  kernels::YarnParams yarn() const;
};

// Parses config.json text (and generation_config.json text when not empty).
// `origin` prefixes messages, e.g. "model/config.json".
Result<GptOssConfig> parse_hf_config(std::string_view config_json,
                                     std::string_view generation_config_json,
                                     const std::string& origin);

// Reads DIR/config.json and, if present, DIR/generation_config.json.
Result<GptOssConfig> load_hf_config(const std::string& dir);

// From GGUF metadata (`<arch>.block_count`, ... with arch "gpt-oss" or
// "gptoss"); the vocabulary size comes from token_embd.weight. YaRN follows the
// reference (no truncation of the ramp; beta_fast 32 / beta_slow 1 unless the
// file says otherwise).
Result<GptOssConfig> config_from_gguf(const formats::GgufFile& f);

// Checks that the numbers describe a model this engine can run; the message
// names the key, e.g. "num_attention_heads (6) is not a multiple of
// num_key_value_heads (4)".
Status validate_config(const GptOssConfig& c);

}  // namespace quarry::model
