#include "convert/hf_export.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "formats/safetensors_writer.h"

namespace quarry::convert {
namespace {

using Json = nlohmann::ordered_json;

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return make_error(path + ": cannot write");
  return Status::Ok();
}

// Row-parallel filler for HF tensor `s`.
formats::TensorFiller hf_filler(const WeightSpec& s, const HfRows& rows, ThreadPool& pool) {
  return [s, &rows, &pool](std::span<uint8_t> out) -> Status {
    const uint64_t n = row_count(s);
    const uint64_t bytes = n == 0 ? 0 : out.size() / n;
    pool.parallel_for(n, 64, [&](size_t b, size_t e) {
      for (size_t r = b; r < e; ++r) rows.row(s, r, out.data() + r * bytes);
    });
    return Status::Ok();
  };
}

// Integral values as integers, as the release writes rope_theta (150000).
Json number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<int64_t>(v);
  return v;
}

}  // namespace

std::string hf_config_json(const GptOssConfig& c) {
  Json layer_types = Json::array();
  for (bool s : c.layer_sliding) layer_types.push_back(s ? "sliding_attention" : "full_attention");
  Json rope = {{"beta_fast", c.rope_beta_fast},
               {"beta_slow", c.rope_beta_slow},
               {"factor", c.rope_factor},
               {"original_max_position_embeddings", static_cast<int64_t>(c.rope_original_context)},
               {"rope_type", "yarn"},
               {"truncate", c.rope_truncate}};
  if (c.rope_attention_factor != 0.0) rope["attention_factor"] = c.rope_attention_factor;
  Json j = {{"architectures", Json::array({"GptOssForCausalLM"})},
            {"attention_bias", true},
            {"attention_dropout", 0.0},
            {"eos_token_id", c.eos_ids.empty() ? Json(nullptr) : Json(c.eos_ids.front())},
            {"experts_per_token", c.n_expert_active},
            {"head_dim", c.d_head},
            {"hidden_act", "silu"},
            {"hidden_size", c.d_model},
            {"initial_context_length", static_cast<int64_t>(c.rope_original_context)},
            {"initializer_range", 0.02},
            {"intermediate_size", c.d_ff},
            {"layer_types", layer_types},
            {"max_position_embeddings", c.max_position},
            {"model_type", "gpt_oss"},
            {"num_attention_heads", c.n_head},
            {"num_experts_per_tok", c.n_expert_active},
            {"num_hidden_layers", c.n_layer},
            {"num_key_value_heads", c.n_kv_head},
            {"num_local_experts", c.n_expert},
            {"output_router_logits", false},
            {"pad_token_id", c.pad_id >= 0 ? Json(c.pad_id) : Json(nullptr)},
            {"quantization_config",
             {{"modules_to_not_convert",
               Json::array({"model.layers.*.self_attn", "model.layers.*.mlp.router",
                            "model.embed_tokens", "lm_head"})},
              {"quant_method", "mxfp4"}}},
            {"rms_norm_eps", shortest_decimal(c.rms_norm_eps)},
            {"rope_scaling", rope},
            {"rope_theta", number(c.rope_theta)},
            {"router_aux_loss_coef", 0.9},
            {"sliding_window", c.sliding_window},
            {"swiglu_limit", shortest_decimal(c.swiglu_limit)},
            {"tie_word_embeddings", false},
            {"transformers_version", "4.55.0.dev0"},
            {"use_cache", true},
            {"vocab_size", c.n_vocab}};
  return j.dump(2) + "\n";
}

std::string hf_generation_config_json(const GptOssConfig& c) {
  Json j = Json::object();
  if (c.bos_id >= 0) j["bos_token_id"] = c.bos_id;
  j["do_sample"] = true;
  j["eos_token_id"] = c.eos_ids;
  if (c.pad_id >= 0) j["pad_token_id"] = c.pad_id;
  j["transformers_version"] = "4.55.0.dev0";
  return j.dump(2) + "\n";
}

Result<std::vector<std::string>> write_hf_checkpoint(const std::string& dir, const GptOssConfig& c,
                                                     const HfRows& rows, const HfExport& options,
                                                     ThreadPool& pool) {
  if (Status s = model::validate_config(c); !s.ok()) return make_error(s.message());
  formats::SafetensorsWriter w;
  Status added = Status::Ok();
  model::for_each_tensor(c, model::WeightFormat::kHF, [&](const WeightSpec& s) {
    if (!added.ok()) return;
    added = w.add({s.name, rows.dtype(s), s.shape}, hf_filler(s, rows, pool));
  });
  if (!added.ok()) return make_error(added.message());
  w.set_metadata("format", "pt");
  w.set_progress(options.progress);

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(dir + ": cannot create directory: " + ec.message());
  if (Status s = write_text(dir + "/config.json", hf_config_json(c)); !s.ok()) {
    return make_error(s.message());
  }
  if (Status s = write_text(dir + "/generation_config.json", hf_generation_config_json(c));
      !s.ok()) {
    return make_error(s.message());
  }
  if (options.tokenizer != nullptr) {
    if (c.n_vocab != options.tokenizer->vocab_size()) {
      return make_error("tokenizer.json: the model has " + std::to_string(c.n_vocab) +
                        " vocabulary rows, the tokenizer " +
                        std::to_string(options.tokenizer->vocab_size()));
    }
    if (Status s = write_text(dir + "/tokenizer.json", options.tokenizer->to_hf_tokenizer_json());
        !s.ok()) {
      return make_error(s.message());
    }
  }
  formats::ShardOptions shard;
  shard.max_shard_bytes = options.max_shard_bytes;
  shard.release_naming = true;
  return w.write_sharded(dir, shard);
}

}  // namespace quarry::convert
