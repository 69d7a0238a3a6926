#include "convert/gguf_export.h"

#include <cmath>
#include <cstring>
#include <map>

#include "formats/mxfp4.h"
#include "kernels/numeric.h"

namespace quarry::convert {
namespace {

using formats::DType;
using model::TensorKind;
using model::TensorRole;
using model::WeightFormat;

// llama.cpp's token types (llama_token_type): normal words and control tokens.
constexpr int32_t kTokenNormal = 1;
constexpr int32_t kTokenControl = 3;

float to_f32(DType dt, const uint8_t* p, uint64_t i) {
  uint16_t h = 0;
  float f = 0.0f;
  switch (dt) {
    case DType::kF32:
      std::memcpy(&f, p + 4 * i, 4);
      return f;
    case DType::kF16:
      std::memcpy(&h, p + 2 * i, 2);
      return kernels::f16_to_f32(h);
    default:
      std::memcpy(&h, p + 2 * i, 2);
      return kernels::bf16_to_f32(h);
  }
}

size_t dtype_size(DType dt) { return dt == DType::kF32 ? 4 : dt == DType::kU8 ? 1 : 2; }

bool default_sliding(const GptOssConfig& c) {
  for (size_t l = 0; l < c.n_layer; ++l) {
    if (c.layer_sliding[l] != (l % 2 == 0)) return false;
  }
  return true;
}

// Fills one GGUF tensor from the HF tensors of its layer.
class GgufFiller {
 public:
  GgufFiller(const GptOssConfig& c, const HfRows& rows, ThreadPool& pool,
             const std::map<std::pair<int, TensorRole>, WeightSpec>& hf)
      : c_(c), rows_(rows), pool_(pool), hf_(hf) {}

  const WeightSpec& hf(int layer, TensorRole role) const { return hf_.at({layer, role}); }

  // Output row r of an expert matrix: HF row first + r * step (within each
  // expert of `rows_per_expert` output rows) -> block_mxfp4 row.
  Status experts(const WeightSpec& blocks, const WeightSpec& scales, uint64_t out_rows,
                 uint64_t first, uint64_t step, std::span<uint8_t> out) const {
    const uint64_t G = blocks.shape[2], R = blocks.shape[1];
    const uint64_t n = c_.n_expert * out_rows;
    pool_.parallel_for(n, 16, [&](size_t b, size_t e) {
      std::vector<uint8_t> codes(G * 16), sc(G);
      for (size_t i = b; i < e; ++i) {
        const uint64_t ex = i / out_rows, r = i % out_rows;
        const uint64_t hf_row = ex * R + first + r * step;
        rows_.row(blocks, hf_row, codes.data());
        rows_.row(scales, hf_row, sc.data());
        uint8_t* dst = out.data() + i * G * formats::kMxfp4GgmlBlockBytes;
        for (uint64_t g = 0; g < G; ++g) {
          formats::mxfp4_hf_to_ggml_block(&codes[g * 16], sc[g],
                                          dst + g * formats::kMxfp4GgmlBlockBytes);
        }
      }
    });
    return Status::Ok();
  }

  // F32 vector: every `step`-th element of each HF row, from `first`.
  Status vector(const WeightSpec& s, uint64_t first, uint64_t step, std::span<uint8_t> out) const {
    const DType dt = rows_.dtype(s);
    const uint64_t n = row_count(s), in = row_elems(s), per = (in - first + step - 1) / step;
    std::vector<uint8_t> row(in * dtype_size(dt));
    for (uint64_t r = 0; r < n; ++r) {
      rows_.row(s, r, row.data());
      for (uint64_t j = 0; j < per; ++j) {
        const float f = to_f32(dt, row.data(), first + j * step);
        std::memcpy(out.data() + 4 * (r * per + j), &f, 4);
      }
    }
    return Status::Ok();
  }

  Status dense(const WeightSpec& s, std::span<uint8_t> out) const {
    const uint64_t n = row_count(s), bytes = out.size() / n;
    pool_.parallel_for(n, 64, [&](size_t b, size_t e) {
      for (size_t r = b; r < e; ++r) rows_.row(s, r, out.data() + r * bytes);
    });
    return Status::Ok();
  }

  Status fill(const WeightSpec& g, std::span<uint8_t> out) const {
    const int l = g.layer;
    switch (g.role) {
      case TensorRole::kGateExps:
      case TensorRole::kUpExps:
        return experts(hf(l, TensorRole::kGateUpBlocks), hf(l, TensorRole::kGateUpScales), c_.d_ff,
                       g.role == TensorRole::kUpExps ? 1 : 0, 2, out);
      case TensorRole::kDownExps:
        return experts(hf(l, TensorRole::kDownBlocks), hf(l, TensorRole::kDownScales), c_.d_model,
                       0, 1, out);
      case TensorRole::kGateExpsBias:
      case TensorRole::kUpExpsBias:
        return vector(hf(l, TensorRole::kGateUpBias), g.role == TensorRole::kUpExpsBias ? 1 : 0, 2,
                      out);
      default:
        if (g.kind == TensorKind::kVector) return vector(hf(l, g.role), 0, 1, out);
        return dense(hf(l, g.role), out);
    }
  }

 private:
  const GptOssConfig& c_;
  const HfRows& rows_;
  ThreadPool& pool_;
  const std::map<std::pair<int, TensorRole>, WeightSpec>& hf_;
};

}  // namespace

Status set_gguf_metadata(formats::GgufWriter& w, const GptOssConfig& c, const std::string& name) {
  if (c.rope_truncate) {
    return make_error("rope_scaling.truncate is true: GGUF readers assume the untruncated ramp");
  }
  if (c.rope_attention_factor != 0.0) {
    return make_error(
        "rope_scaling.attention_factor is set: GGUF readers derive it from the factor");
  }
  const std::string a = "gpt-oss.";
  auto u32 = [](size_t v) { return static_cast<uint32_t>(v); };
  w.set_string("general.architecture", "gpt-oss");
  w.set_string("general.name", name);
  w.set_u32(a + "block_count", u32(c.n_layer));
  w.set_u32(a + "context_length", u32(c.max_position));
  w.set_u32(a + "embedding_length", u32(c.d_model));
  w.set_u32(a + "feed_forward_length", u32(c.d_ff));
  w.set_u32(a + "expert_feed_forward_length", u32(c.d_ff));
  w.set_u32(a + "attention.head_count", u32(c.n_head));
  w.set_u32(a + "attention.head_count_kv", u32(c.n_kv_head));
  w.set_u32(a + "attention.key_length", u32(c.d_head));
  w.set_u32(a + "attention.value_length", u32(c.d_head));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  w.set_u32(a + "attention.sliding_window", u32(c.sliding_window));
  if (!default_sliding(c)) {
    w.set(a + "attention.sliding_window_pattern", formats::GgufValue::bool_array(c.layer_sliding));
  }
  w.set_u32(a + "expert_count", u32(c.n_expert));
  w.set_u32(a + "expert_used_count", u32(c.n_expert_active));
  w.set_f32(a + "rope.freq_base", static_cast<float>(c.rope_theta));
  w.set_string(a + "rope.scaling.type", c.rope_factor == 1.0 ? "none" : "yarn");
  w.set_f32(a + "rope.scaling.factor", static_cast<float>(c.rope_factor));
  w.set_u32(a + "rope.scaling.original_context_length", u32(std::lround(c.rope_original_context)));
  w.set_f32(a + "rope.scaling.yarn_beta_fast", static_cast<float>(c.rope_beta_fast));
  w.set_f32(a + "rope.scaling.yarn_beta_slow", static_cast<float>(c.rope_beta_slow));
  if (c.swiglu_limit != 7.0f) w.set_f32(a + "swiglu_limit", c.swiglu_limit);
  if (c.bos_id >= 0) w.set_u32("tokenizer.ggml.bos_token_id", u32(c.bos_id));
  if (!c.eos_ids.empty()) w.set_u32("tokenizer.ggml.eos_token_id", u32(c.eos_ids.front()));
  if (c.pad_id >= 0) w.set_u32("tokenizer.ggml.padding_token_id", u32(c.pad_id));
  return Status::Ok();
}

Status set_gguf_tokenizer(formats::GgufWriter& w, const tokenizer::Tokenizer& tok,
                          const GptOssConfig& c) {
  if (c.n_vocab != tok.vocab_size()) {
    return make_error("the model has " + std::to_string(c.n_vocab) +
                      " vocabulary rows, the o200k_harmony tokenizer " +
                      std::to_string(tok.vocab_size()));
  }
  std::vector<int32_t> types(tok.vocab_size(), kTokenNormal);
  for (tokenizer::TokenId id = tokenizer::kNumMergeable; id < tok.vocab_size(); ++id) {
    types[id] = kTokenControl;
  }
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "gpt-4o");
  w.set_string_array("tokenizer.ggml.tokens", tok.gguf_token_strings());
  w.set_array<int32_t>("tokenizer.ggml.token_type", std::span<const int32_t>(types));
  w.set_string_array("tokenizer.ggml.merges", tok.merges());
  return Status::Ok();
}

Status add_gguf_tensors(formats::GgufWriter& w, const GptOssConfig& c, const HfRows& rows,
                        ThreadPool& pool) {
  // The fillers outlive this call: they share one heap copy of the HF list.
  auto hf = std::make_shared<std::map<std::pair<int, TensorRole>, WeightSpec>>();
  model::for_each_tensor(c, WeightFormat::kHF,
                         [&](const WeightSpec& s) { hf->emplace(std::pair(s.layer, s.role), s); });
  auto filler = std::make_shared<GgufFiller>(c, rows, pool, *hf);
  Status st = Status::Ok();
  model::for_each_tensor(c, WeightFormat::kGguf, [&](const WeightSpec& g) {
    if (!st.ok()) return;
    formats::TensorSpec spec{g.name, g.dtype, g.shape};
    if (g.kind == TensorKind::kDense) spec.dtype = rows.dtype(filler->hf(g.layer, g.role));
    st = w.add_tensor(std::move(spec),
                      [g, filler, hf](std::span<uint8_t> out) { return filler->fill(g, out); });
  });
  return st;
}

Status write_gguf(const std::string& path, const GptOssConfig& c, const HfRows& rows,
                  const GgufExport& options, ThreadPool& pool) {
  if (Status s = model::validate_config(c); !s.ok()) return s;
  formats::GgufWriter w;
  if (Status s = set_gguf_metadata(w, c, options.name); !s.ok()) return s;
  if (options.tokenizer != nullptr) {
    if (Status s = set_gguf_tokenizer(w, *options.tokenizer, c); !s.ok()) return s;
  }
  if (Status s = add_gguf_tensors(w, c, rows, pool); !s.ok()) return s;
  w.set_progress(options.progress);
  return w.write(path);
}

}  // namespace quarry::convert
