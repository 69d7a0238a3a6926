// GGUF metadata -> GptOssConfig (keys written by llama.cpp's converter, spec §7).
#include <cmath>

#include "formats/gguf.h"
#include "model/gpt_oss_config.h"

namespace quarry::model {
namespace {

class Meta {
 public:
  Meta(const formats::GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}

  std::string key(std::string_view k) const { return arch_ + "." + std::string(k); }

  Result<size_t> size(std::string_view k) const {
    auto v = f_.get_u64(key(k));
    if (!v.ok()) return v.error();
    if (*v == 0) return make_error(f_.origin() + ": " + key(k) + ": must be positive");
    return static_cast<size_t>(*v);
  }
  Result<size_t> size_or(std::string_view k, size_t fallback) const {
    return f_.has(key(k)) ? size(k) : Result<size_t>(fallback);
  }
  Result<double> number_or(std::string_view k, double fallback) const {
    const formats::GgufValue* v = f_.value(key(k));
    if (v == nullptr) return fallback;
    if (auto d = v->as_f64()) return *d;
    if (auto i = v->as_i64()) return static_cast<double>(*i);
    return make_error(f_.origin() + ": " + key(k) + ": expected a number, found " +
                      std::string(v->type_string()));
  }
  void token(std::string_view k, int64_t& out) const {
    const formats::GgufValue* v = f_.value(k);
    if (v == nullptr) return;
    if (auto i = v->as_i64()) out = *i;
  }

 private:
  const formats::GgufFile& f_;
  std::string arch_;
};

}  // namespace

Result<GptOssConfig> config_from_gguf(const formats::GgufFile& f) {
  auto arch_r = f.get_string("general.architecture");
  if (!arch_r.ok()) return arch_r.error();
  const std::string arch(*arch_r);
  if (arch != "gpt-oss" && arch != "gptoss") {
    return make_error(f.origin() + ": general.architecture is \"" + arch +
                      "\", expected \"gpt-oss\"");
  }
  Meta m(f, arch);
  GptOssConfig c;
  QUARRY_ASSIGN(c.n_layer, m.size("block_count"));
  QUARRY_ASSIGN(c.d_model, m.size("embedding_length"));
  QUARRY_ASSIGN(c.n_expert, m.size("expert_count"));
  QUARRY_ASSIGN(c.n_expert_active, m.size("expert_used_count"));
  size_t ff = 0;
  QUARRY_ASSIGN(ff, m.size_or("feed_forward_length", 0));
  QUARRY_ASSIGN(c.d_ff, m.size_or("expert_feed_forward_length", ff));
  if (c.d_ff == 0)
    return make_error(f.origin() + ": " + m.key("expert_feed_forward_length") + ": missing");
  QUARRY_ASSIGN(c.n_head, m.size("attention.head_count"));
  QUARRY_ASSIGN(c.n_kv_head, m.size("attention.head_count_kv"));
  QUARRY_ASSIGN(c.d_head, m.size_or("attention.key_length", c.d_model / c.n_head));
  QUARRY_ASSIGN(c.sliding_window, m.size("attention.sliding_window"));
  QUARRY_ASSIGN(c.max_position, m.size_or("context_length", 131072));

  // Sliding layers: an explicit bool array, or a period n (layer l slides iff
  // l % n < n - 1, llama.cpp's set_swa_pattern), default period 2.
  c.layer_sliding.assign(c.n_layer, false);
  const formats::GgufValue* pat = f.value(m.key("attention.sliding_window_pattern"));
  if (pat != nullptr && pat->is_array()) {
    auto bits = pat->int_array();  // bools read as integers
    if (pat->elem_type() == formats::GgufType::kBool) {
      const auto raw = pat->raw();
      bits = std::vector<int64_t>(raw.begin(), raw.end());
    }
    if (!bits || bits->size() != c.n_layer) {
      return make_error(f.origin() + ": " + m.key("attention.sliding_window_pattern") +
                        ": expected one entry per layer");
    }
    for (size_t l = 0; l < c.n_layer; ++l) c.layer_sliding[l] = (*bits)[l] != 0;
  } else {
    size_t period = 2;
    if (pat != nullptr) {
      auto p = pat->as_u64();
      if (!p)
        return make_error(f.origin() + ": " + m.key("attention.sliding_window_pattern") +
                          ": expected an integer or an array");
      period = static_cast<size_t>(*p);
    }
    for (size_t l = 0; l < c.n_layer; ++l) {
      c.layer_sliding[l] = period == 0 || l % period < period - 1;
    }
  }

  double v = 0.0;
  QUARRY_ASSIGN(c.rope_theta, m.number_or("rope.freq_base", 0.0));
  QUARRY_ASSIGN(c.rope_factor, m.number_or("rope.scaling.factor", 1.0));
  QUARRY_ASSIGN(c.rope_original_context,
                m.number_or("rope.scaling.original_context_length", 4096.0));
  QUARRY_ASSIGN(c.rope_beta_fast, m.number_or("rope.scaling.yarn_beta_fast", 32.0));
  QUARRY_ASSIGN(c.rope_beta_slow, m.number_or("rope.scaling.yarn_beta_slow", 1.0));
  c.rope_truncate = false;
  if (const formats::GgufValue* st = f.value(m.key("rope.scaling.type"))) {
    const std::string* s = st->as_string();
    if (s == nullptr || (*s != "yarn" && *s != "none")) {
      return make_error(f.origin() + ": " + m.key("rope.scaling.type") +
                        ": only \"yarn\" is supported");
    }
    if (*s == "none") c.rope_factor = 1.0;
  }
  QUARRY_ASSIGN(v, m.number_or("attention.layer_norm_rms_epsilon", 1e-5));
  c.rms_norm_eps = static_cast<float>(v);
  QUARRY_ASSIGN(v, m.number_or("swiglu_limit", 7.0));
  c.swiglu_limit = static_cast<float>(v);

  const formats::TensorInfo* emb = f.find("token_embd.weight");
  if (emb == nullptr || emb->shape.size() != 2) {
    return make_error(f.origin() + ": missing tensor token_embd.weight (sets the vocabulary)");
  }
  c.n_vocab = static_cast<size_t>(emb->shape[0]);

  m.token("tokenizer.ggml.bos_token_id", c.bos_id);
  m.token("tokenizer.ggml.padding_token_id", c.pad_id);
  for (const char* k : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                        "tokenizer.ggml.eom_token_id"}) {
    int64_t id = -1;
    m.token(k, id);
    if (id >= 0) c.eos_ids.push_back(id);
  }

  if (Status s = validate_config(c); !s.ok()) return make_error(f.origin() + ": " + s.message());
  return c;
}

}  // namespace quarry::model
