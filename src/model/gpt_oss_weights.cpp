#include "model/gpt_oss_weights.h"

#include <array>
#include <cstring>

#include "kernels/numeric.h"

namespace quarry::model {
namespace {

using formats::DType;
using formats::TensorInfo;
using kernels::DenseMatrix;
using kernels::ElemType;
using kernels::Mxfp4Matrix;

constexpr size_t kRoleCount = static_cast<size_t>(TensorRole::kLmHead) + 1;

// --- the tensor lists ---

void hf_tensors(const GptOssConfig& c, const std::function<void(const WeightSpec&)>& fn) {
  const uint64_t H = c.d_model, I = c.d_ff, E = c.n_expert, V = c.n_vocab;
  const uint64_t Q = c.q_width(), KV = c.kv_width();
  auto emit = [&](std::string name, TensorRole role, int layer, TensorKind kind,
                  std::vector<uint64_t> shape) {
    const DType dt = kind == TensorKind::kBytes ? DType::kU8 : DType::kBF16;
    fn(WeightSpec{std::move(name), role, layer, kind, std::move(shape), dt});
  };
  using R = TensorRole;
  using K = TensorKind;
  emit("model.embed_tokens.weight", R::kEmbed, -1, K::kDense, {V, H});
  for (size_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const int li = static_cast<int>(l);
    emit(p + "input_layernorm.weight", R::kAttnNorm, li, K::kVector, {H});
    emit(p + "self_attn.q_proj.weight", R::kWq, li, K::kDense, {Q, H});
    emit(p + "self_attn.q_proj.bias", R::kBq, li, K::kVector, {Q});
    emit(p + "self_attn.k_proj.weight", R::kWk, li, K::kDense, {KV, H});
    emit(p + "self_attn.k_proj.bias", R::kBk, li, K::kVector, {KV});
    emit(p + "self_attn.v_proj.weight", R::kWv, li, K::kDense, {KV, H});
    emit(p + "self_attn.v_proj.bias", R::kBv, li, K::kVector, {KV});
    emit(p + "self_attn.o_proj.weight", R::kWo, li, K::kDense, {H, Q});
    emit(p + "self_attn.o_proj.bias", R::kBo, li, K::kVector, {H});
    emit(p + "self_attn.sinks", R::kSinks, li, K::kVector, {c.n_head});
    emit(p + "post_attention_layernorm.weight", R::kMoeNorm, li, K::kVector, {H});
    emit(p + "mlp.router.weight", R::kRouter, li, K::kDense, {E, H});
    emit(p + "mlp.router.bias", R::kRouterBias, li, K::kVector, {E});
    emit(p + "mlp.experts.gate_up_proj_blocks", R::kGateUpBlocks, li, K::kBytes,
         {E, 2 * I, H / 32, 16});
    emit(p + "mlp.experts.gate_up_proj_scales", R::kGateUpScales, li, K::kBytes,
         {E, 2 * I, H / 32});
    emit(p + "mlp.experts.gate_up_proj_bias", R::kGateUpBias, li, K::kVector, {E, 2 * I});
    emit(p + "mlp.experts.down_proj_blocks", R::kDownBlocks, li, K::kBytes, {E, H, I / 32, 16});
    emit(p + "mlp.experts.down_proj_scales", R::kDownScales, li, K::kBytes, {E, H, I / 32});
    emit(p + "mlp.experts.down_proj_bias", R::kDownBias, li, K::kVector, {E, H});
  }
  emit("model.norm.weight", R::kFinalNorm, -1, K::kVector, {H});
  emit("lm_head.weight", R::kLmHead, -1, K::kDense, {V, H});
}

// llama.cpp's names (LLM_ARCH_OPENAI_MOE); 2-D dense weights BF16, every
// vector F32 (as ggml's ops require for sinks and expert biases).
void gguf_tensors(const GptOssConfig& c, bool fused,
                  const std::function<void(const WeightSpec&)>& fn) {
  const uint64_t H = c.d_model, I = c.d_ff, E = c.n_expert, V = c.n_vocab;
  const uint64_t Q = c.q_width(), KV = c.kv_width();
  auto emit = [&](std::string name, TensorRole role, int layer, TensorKind kind,
                  std::vector<uint64_t> shape) {
    const DType dt = kind == TensorKind::kDense   ? DType::kBF16
                     : kind == TensorKind::kMxfp4 ? DType::kMXFP4
                                                  : DType::kF32;
    fn(WeightSpec{std::move(name), role, layer, kind, std::move(shape), dt});
  };
  using R = TensorRole;
  using K = TensorKind;
  emit("token_embd.weight", R::kEmbed, -1, K::kDense, {V, H});
  for (size_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const int li = static_cast<int>(l);
    emit(p + "attn_norm.weight", R::kAttnNorm, li, K::kVector, {H});
    emit(p + "attn_q.weight", R::kWq, li, K::kDense, {Q, H});
    emit(p + "attn_q.bias", R::kBq, li, K::kVector, {Q});
    emit(p + "attn_k.weight", R::kWk, li, K::kDense, {KV, H});
    emit(p + "attn_k.bias", R::kBk, li, K::kVector, {KV});
    emit(p + "attn_v.weight", R::kWv, li, K::kDense, {KV, H});
    emit(p + "attn_v.bias", R::kBv, li, K::kVector, {KV});
    emit(p + "attn_output.weight", R::kWo, li, K::kDense, {H, Q});
    emit(p + "attn_output.bias", R::kBo, li, K::kVector, {H});
    emit(p + "attn_sinks.weight", R::kSinks, li, K::kVector, {c.n_head});
    emit(p + "post_attention_norm.weight", R::kMoeNorm, li, K::kVector, {H});
    emit(p + "ffn_gate_inp.weight", R::kRouter, li, K::kDense, {E, H});
    emit(p + "ffn_gate_inp.bias", R::kRouterBias, li, K::kVector, {E});
    if (fused) {
      emit(p + "ffn_gate_up_exps.weight", R::kGateUpExps, li, K::kMxfp4, {E, 2 * I, H});
      emit(p + "ffn_gate_up_exps.bias", R::kGateUpExpsBias, li, K::kVector, {E, 2 * I});
    } else {
      emit(p + "ffn_gate_exps.weight", R::kGateExps, li, K::kMxfp4, {E, I, H});
      emit(p + "ffn_up_exps.weight", R::kUpExps, li, K::kMxfp4, {E, I, H});
      emit(p + "ffn_gate_exps.bias", R::kGateExpsBias, li, K::kVector, {E, I});
      emit(p + "ffn_up_exps.bias", R::kUpExpsBias, li, K::kVector, {E, I});
    }
    emit(p + "ffn_down_exps.weight", R::kDownExps, li, K::kMxfp4, {E, H, I});
    emit(p + "ffn_down_exps.bias", R::kDownBias, li, K::kVector, {E, H});
  }
  emit("output_norm.weight", R::kFinalNorm, -1, K::kVector, {H});
  emit("output.weight", R::kLmHead, -1, K::kDense, {V, H});
}

// --- binding ---

std::string where(const TensorInfo& t) {
  return t.name + " (" + t.file + " at byte " + std::to_string(t.file_offset) + ")";
}

bool float_dtype(DType d) { return d == DType::kBF16 || d == DType::kF16 || d == DType::kF32; }

ElemType elem_type(DType d) {
  return d == DType::kBF16 ? ElemType::kBF16 : d == DType::kF16 ? ElemType::kF16 : ElemType::kF32;
}

Status check(const WeightSpec& s, const TensorInfo& t) {
  auto fail = [&](const std::string& m) { return Status(make_error(where(t) + ": " + m)); };
  if (t.shape != s.shape) {
    return fail("expected shape " + formats::shape_string(s.shape) + ", found " +
                formats::shape_string(t.shape));
  }
  switch (s.kind) {
    case TensorKind::kDense:
    case TensorKind::kVector:
      if (!float_dtype(t.dtype)) {
        return fail("dtype " + std::string(formats::dtype_name(t.dtype)) +
                    " is not supported here (expected BF16, F16 or F32)");
      }
      break;
    case TensorKind::kBytes:
      if (t.dtype != DType::kU8) {
        return fail("expected dtype U8, found " + std::string(formats::dtype_name(t.dtype)));
      }
      break;
    case TensorKind::kMxfp4:
      if (t.dtype != DType::kMXFP4) {
        return fail("expected dtype MXFP4, found " + std::string(formats::dtype_name(t.dtype)));
      }
      break;
  }
  const auto want = formats::dtype_nbytes(t.dtype, t.numel());
  if (!want || *want != t.nbytes) {
    return fail("holds " + std::to_string(t.nbytes) + " bytes, its dtype and shape need " +
                (want ? std::to_string(*want) : std::string("an impossible size")));
  }
  if (s.kind == TensorKind::kDense &&
      reinterpret_cast<uintptr_t>(t.data) % (t.dtype == DType::kF32 ? 4 : 2) != 0) {
    return fail("data is not aligned to its element size");
  }
  return Status::Ok();
}

class Binder {
 public:
  Binder(const GptOssConfig& c, GptOssWeights& w, size_t vector_floats) : c_(c), w_(w) {
    w_.converted.resize(vector_floats);
  }

  // `n` floats of t starting at element `first`, every `stride`-th: in place
  // when the file holds aligned contiguous F32, else converted.
  const float* vec(const TensorInfo& t, size_t first, size_t n, size_t stride = 1) {
    if (t.dtype == DType::kF32 && stride == 1 &&
        reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
      return reinterpret_cast<const float*>(t.data) + first;
    }
    float* out = w_.converted.data() + used_;
    used_ += n;
    for (size_t j = 0; j < n; ++j) {
      const size_t i = first + j * stride;
      uint16_t h = 0;
      switch (t.dtype) {
        case DType::kF32:
          std::memcpy(&out[j], t.data + 4 * i, 4);
          break;
        case DType::kBF16:
          std::memcpy(&h, t.data + 2 * i, 2);
          out[j] = kernels::bf16_to_f32(h);
          break;
        default:  // F16 (checked)
          std::memcpy(&h, t.data + 2 * i, 2);
          out[j] = kernels::f16_to_f32(h);
          break;
      }
    }
    return out;
  }

  static DenseMatrix dense(const TensorInfo& t) {
    return DenseMatrix{t.data, elem_type(t.dtype), static_cast<size_t>(t.shape[0]),
                       static_cast<size_t>(t.shape[1]), static_cast<size_t>(t.shape[1])};
  }

  // HF: blocks (E, R, G, 16) + scales (E, R, G); `rows` rows starting at row
  // `first` of expert e, every `step`-th.
  static Mxfp4Matrix hf(const TensorInfo& blocks, const TensorInfo& scales, size_t e, size_t first,
                        size_t rows, size_t step) {
    const size_t R = blocks.shape[1], G = blocks.shape[2];
    Mxfp4Matrix m;
    m.layout = kernels::Mxfp4Layout::kHF;
    m.codes = blocks.data + (e * R + first) * G * 16;
    m.scales = scales.data + (e * R + first) * G;
    m.n_rows = rows;
    m.d_in = G * 32;
    m.codes_row_stride = step * G * 16;
    m.scales_row_stride = step * G;
    return m;
  }
  // ggml: (E, R, K) in 17-byte blocks; rows [first, first + rows) of expert e.
  static Mxfp4Matrix ggml(const TensorInfo& t, size_t e, size_t first, size_t rows) {
    const size_t R = t.shape[1], K = t.shape[2];
    const size_t row_bytes = K / 32 * 17;
    Mxfp4Matrix m;
    m.layout = kernels::Mxfp4Layout::kGgml;
    m.codes = t.data + (e * R + first) * row_bytes;
    m.n_rows = rows;
    m.d_in = K;
    m.codes_row_stride = row_bytes;
    return m;
  }

  void layer(size_t l, const std::array<const TensorInfo*, kRoleCount>& t) {
    using R = TensorRole;
    auto at = [&](R r) -> const TensorInfo& { return *t[static_cast<size_t>(r)]; };
    auto has = [&](R r) { return t[static_cast<size_t>(r)] != nullptr; };
    const size_t H = c_.d_model, I = c_.d_ff;
    LayerWeights& L = w_.layers[l];
    L.sliding = c_.layer_sliding[l];
    L.attn_norm = vec(at(R::kAttnNorm), 0, H);
    L.wq = dense(at(R::kWq));
    L.wk = dense(at(R::kWk));
    L.wv = dense(at(R::kWv));
    L.wo = dense(at(R::kWo));
    L.bq = vec(at(R::kBq), 0, c_.q_width());
    L.bk = vec(at(R::kBk), 0, c_.kv_width());
    L.bv = vec(at(R::kBv), 0, c_.kv_width());
    L.bo = vec(at(R::kBo), 0, H);
    L.sinks = vec(at(R::kSinks), 0, c_.n_head);
    L.moe_norm = vec(at(R::kMoeNorm), 0, H);
    L.router = dense(at(R::kRouter));
    L.router_bias = vec(at(R::kRouterBias), 0, c_.n_expert);
    L.experts.resize(c_.n_expert);
    for (size_t e = 0; e < c_.n_expert; ++e) {
      ExpertWeights& X = L.experts[e];
      if (has(R::kGateUpBlocks)) {  // HF: rows 2i gate, 2i+1 up
        X.gate = hf(at(R::kGateUpBlocks), at(R::kGateUpScales), e, 0, I, 2);
        X.up = hf(at(R::kGateUpBlocks), at(R::kGateUpScales), e, 1, I, 2);
        X.down = hf(at(R::kDownBlocks), at(R::kDownScales), e, 0, H, 1);
        X.gate_bias = vec(at(R::kGateUpBias), e * 2 * I, I, 2);
        X.up_bias = vec(at(R::kGateUpBias), e * 2 * I + 1, I, 2);
      } else if (has(R::kGateUpExps)) {  // GGUF fused: gate rows, then up rows
        X.gate = ggml(at(R::kGateUpExps), e, 0, I);
        X.up = ggml(at(R::kGateUpExps), e, I, I);
        X.down = ggml(at(R::kDownExps), e, 0, H);
        X.gate_bias = vec(at(R::kGateUpExpsBias), e * 2 * I, I);
        X.up_bias = vec(at(R::kGateUpExpsBias), e * 2 * I + I, I);
      } else {
        X.gate = ggml(at(R::kGateExps), e, 0, I);
        X.up = ggml(at(R::kUpExps), e, 0, I);
        X.down = ggml(at(R::kDownExps), e, 0, H);
        X.gate_bias = vec(at(R::kGateExpsBias), e * I, I);
        X.up_bias = vec(at(R::kUpExpsBias), e * I, I);
      }
      X.down_bias = vec(at(R::kDownBias), e * H, H);
    }
  }

 private:
  const GptOssConfig& c_;
  GptOssWeights& w_;
  size_t used_ = 0;
};

}  // namespace

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::kHF:
      return "Hugging Face";
    case WeightFormat::kGguf:
      return "GGUF";
    case WeightFormat::kGgufFusedGateUp:
      return "GGUF (fused gate/up)";
  }
  return "?";
}

void for_each_tensor(const GptOssConfig& c, WeightFormat format,
                     const std::function<void(const WeightSpec&)>& fn) {
  switch (format) {
    case WeightFormat::kHF:
      return hf_tensors(c, fn);
    case WeightFormat::kGguf:
      return gguf_tensors(c, false, fn);
    case WeightFormat::kGgufFusedGateUp:
      return gguf_tensors(c, true, fn);
  }
}

Result<WeightFormat> detect_weight_format(const formats::TensorSource& src) {
  if (src.find("model.layers.0.mlp.experts.gate_up_proj_blocks") != nullptr) {
    return WeightFormat::kHF;
  }
  if (src.find("blk.0.ffn_gate_exps.weight") != nullptr) return WeightFormat::kGguf;
  if (src.find("blk.0.ffn_gate_up_exps.weight") != nullptr) return WeightFormat::kGgufFusedGateUp;
  if (src.find("block.0.mlp.mlp1_weight.blocks") != nullptr) {
    return make_error(src.origin() +
                      ": this is the release's original/ layout; point at the model directory "
                      "above it (Hugging Face layout) instead");
  }
  return make_error(
      src.origin() +
      ": not a gpt-oss checkpoint (no model.layers.0.mlp.experts.gate_up_proj_blocks, "
      "blk.0.ffn_gate_exps.weight or blk.0.ffn_gate_up_exps.weight)");
}

Result<std::unique_ptr<GptOssWeights>> bind_weights(const GptOssConfig& c,
                                                    const formats::TensorSource& src) {
  auto format = detect_weight_format(src);
  if (!format.ok()) return format.error();
  auto w = std::make_unique<GptOssWeights>();
  w->format = *format;
  w->layers.resize(c.n_layer);

  std::vector<std::array<const TensorInfo*, kRoleCount>> per_layer(c.n_layer);
  for (auto& a : per_layer) a.fill(nullptr);
  std::array<const TensorInfo*, kRoleCount> global{};
  size_t vector_floats = 0;
  Status status;
  for_each_tensor(c, *format, [&](const WeightSpec& s) {
    if (!status.ok()) return;
    const TensorInfo* t = src.find(s.name);
    if (t == nullptr) {
      status = make_error(src.origin() + ": missing tensor " + s.name + " (" +
                          weight_format_name(*format) + " layout)");
      return;
    }
    if (Status st = check(s, *t); !st.ok()) {
      status = st;
      return;
    }
    if (s.kind == TensorKind::kVector) vector_floats += t->numel();
    (s.layer < 0 ? global : per_layer[s.layer])[static_cast<size_t>(s.role)] = t;
  });
  if (!status.ok()) return Error{status.message()};

  Binder b(c, *w, vector_floats);
  auto g = [&](TensorRole r) -> const TensorInfo& { return *global[static_cast<size_t>(r)]; };
  w->embed = Binder::dense(g(TensorRole::kEmbed));
  w->lm_head = Binder::dense(g(TensorRole::kLmHead));
  w->final_norm = b.vec(g(TensorRole::kFinalNorm), 0, c.d_model);
  for (size_t l = 0; l < c.n_layer; ++l) b.layer(l, per_layer[l]);
  return w;
}

}  // namespace quarry::model
