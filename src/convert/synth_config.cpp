#include "convert/synth_config.h"

#include "tokenizer/tokenizer.h"

namespace quarry::convert {
namespace {

void set_special_ids(GptOssConfig& c) {
  const auto V = static_cast<int64_t>(c.n_vocab);
  if (c.n_vocab == tokenizer::kVocabSize) {
    c.bos_id = tokenizer::kStartOfText;
    c.pad_id = tokenizer::kEndOfText;
    c.eos_ids = {tokenizer::kReturn, tokenizer::kEndOfText, tokenizer::kCall};
  } else if (V >= 5) {
    c.bos_id = V - 5;
    c.pad_id = V - 4;
    c.eos_ids = {V - 3, V - 4, V - 2};
  } else {
    c.bos_id = c.pad_id = -1;
    c.eos_ids.clear();
  }
}

}  // namespace

std::vector<std::string> preset_names() { return {"gpt-oss-20b", "gpt-oss-120b"}; }

Result<GptOssConfig> preset_config(const std::string& name) {
  GptOssConfig c;
  if (name == "gpt-oss-20b") {
    c.n_layer = 24;
    c.n_expert = 32;
  } else if (name == "gpt-oss-120b") {
    c.n_layer = 36;
    c.n_expert = 128;
  } else {
    return make_error("unknown preset \"" + name + "\" (gpt-oss-20b or gpt-oss-120b)");
  }
  c.d_model = 2880;
  c.d_ff = 2880;
  c.n_expert_active = 4;
  c.n_head = 64;
  c.n_kv_head = 8;
  c.d_head = 64;
  c.n_vocab = tokenizer::kVocabSize;
  c.sliding_window = 128;
  c.max_position = 131072;
  c.rope_theta = 150000.0;
  c.rope_factor = 32.0;
  c.rope_original_context = 4096.0;
  c.rope_beta_fast = 32.0;
  c.rope_beta_slow = 1.0;
  c.rope_truncate = false;
  c.rms_norm_eps = 1e-5f;
  c.swiglu_limit = 7.0f;
  c.layer_sliding.resize(c.n_layer);
  for (size_t l = 0; l < c.n_layer; ++l) c.layer_sliding[l] = l % 2 == 0;
  set_special_ids(c);
  return c;
}

Result<GptOssConfig> synth_config(const std::string& preset, const Dims& d) {
  auto base = preset_config(preset);
  if (!base.ok()) return base;
  GptOssConfig c = std::move(base.value());
  c.n_layer = d.layers.value_or(c.n_layer);
  c.d_model = d.hidden.value_or(c.d_model);
  c.d_ff = d.intermediate.value_or(d.hidden.value_or(c.d_ff));
  c.n_expert = d.experts.value_or(c.n_expert);
  c.n_expert_active = d.top_k.value_or(c.n_expert_active);
  c.n_head = d.heads.value_or(c.n_head);
  c.n_kv_head = d.kv_heads.value_or(c.n_kv_head);
  c.d_head = d.head_dim.value_or(c.d_head);
  c.sliding_window = d.window.value_or(c.sliding_window);
  c.n_vocab = d.vocab.value_or(c.n_vocab);
  c.max_position = d.max_position.value_or(c.max_position);
  c.layer_sliding.assign(c.n_layer, false);
  for (size_t l = 0; l < c.n_layer; ++l) c.layer_sliding[l] = l % 2 == 0;
  set_special_ids(c);
  if (Status s = model::validate_config(c); !s.ok()) return make_error(s.message());
  return c;
}

}  // namespace quarry::convert
