// The kernel op table. Every ISA variant (ref/ now; avx512/, amx/ later)
// fills one `Ops` with functions of these exact signatures; the forward pass
// calls kernels only through it. The table is chosen once at start and can be
// forced with QUARRY_ISA=<name> (tests and benchmarks).
//
// Kernels are pure functions over pointers: no allocation, no threads, no
// model knowledge. Threading is the caller's: every kernel works on a sub-range
// (rows of a matrix, heads, tokens) so the caller can split work statically.
// All arithmetic is fp32 with fp32 (or wider) accumulation in `ref`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "kernels/views.h"

namespace quarry::kernels {

struct AttentionShape {
  size_t n_head = 0;     // query heads
  size_t n_kv_head = 0;  // query head h reads kv head h / (n_head / n_kv_head)
  size_t d_head = 0;
  float scale = 0.0f;  // on q.k; the sink logit is not scaled
  size_t window = 0;   // keys t with pos - t < window; 0 = plain causal
};

struct Ops {
  const char* isa = "";
  // true: results bit-identical to `ref` (the exact mode). The default choice
  // is always an exact table; others are opt-in through QUARRY_ISA.
  bool exact = true;

  // --- conversions: y[i] = float(x[i]) ---
  void (*bf16_to_f32)(const uint16_t* x, size_t n, float* y) = nullptr;
  void (*f16_to_f32)(const uint16_t* x, size_t n, float* y) = nullptr;

  // --- y = x W^T + b ---
  // x: [n_tok][ldx] f32 (its first w.d_in columns are read); y: [n_tok][ldy];
  // y[t][r] = bias[r] + sum_i x[t][i] * W[r][i] for r < w.n_rows; bias may be null.
  void (*matmul_f32_bf16w)(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                           const float* bias, float* y, size_t ldy) = nullptr;
  void (*matmul_f32_f16w)(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                          const float* bias, float* y, size_t ldy) = nullptr;
  void (*matmul_f32_f32w)(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                          const float* bias, float* y, size_t ldy) = nullptr;
  // The same for a kQ8 matrix (d_in a multiple of 32): each token's row is
  // quantized by quantize_block_q8, then y[t][r] = bias[r] + sum over blocks b
  // of (scale_w[r][b] * scale_x[t][b]) * float(int dot of the codes), summed
  // in increasing b. (The fast tables may keep float activations for many
  // tokens: they are not exact anyway.)
  void (*matmul_f32_q8w)(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                         const float* bias, float* y, size_t ldy) = nullptr;
  // The same for an MXFP4 matrix of either block layout (one expert's gate,
  // up or down projection applied to the tokens routed to it).
  void (*moe_matmul_f32_mxfp4w)(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w,
                                const float* bias, float* y, size_t ldy) = nullptr;

  // --- elementwise / per row ---
  // y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * g; x, y: [n_tok][d_model] (may alias).
  void (*rmsnorm_f32)(const float* x, size_t n_tok, size_t d_model, const float* g, float eps,
                      float* y) = nullptr;
  // In place on x: [n_head][d_head]; half-split pairs (i, i + d_head/2):
  // x[i] <- x[i] cos[i] - x[i+h] sin[i], x[i+h] <- x[i+h] cos[i] + x[i] sin[i];
  // cos/sin: [d_head/2], the YaRN concentration already multiplied in.
  void (*rope_yarn_f32)(float* x, size_t n_head, size_t d_head, const float* cos,
                        const float* sin) = nullptr;
  // One query token at absolute position `pos` against keys 0..pos of its
  // sequence (minus those outside the window): for heads [head_begin, head_end)
  // out[h] = sum_t w_t v[t] with w_t = exp(s_t) / (exp(sinks[h]) + sum exp(s_t')),
  // s_t = scale * q[h].k[t]. q, out: [n_head][d_head].
  void (*attention_sink_swa_f32)(const float* q, const KvLayerView& kv, size_t pos,
                                 const float* sinks, const AttentionShape& shape, size_t head_begin,
                                 size_t head_end, float* out) = nullptr;
  // out[i] = min(g, limit) * sigmoid(alpha min(g, limit)) * (clamp(u, -limit, limit) + 1).
  void (*swiglu_clamp_f32)(const float* gate, const float* up, size_t n, float alpha, float limit,
                           float* out) = nullptr;
  // The k largest of logits[n_expert] (descending; ties -> lower id) and the
  // softmax over those k logits only.
  void (*topk_softmax_f32)(const float* logits, size_t n_expert, size_t k, int32_t* ids,
                           float* weights) = nullptr;
  // y[i] += a * x[i]
  void (*axpy_f32)(float a, const float* x, size_t n, float* y) = nullptr;
};

// y = x W^T + b through the entry for w.type.
inline void matmul(const Ops& ops, const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                   const float* bias, float* y, size_t ldy) {
  switch (w.type) {
    case ElemType::kBF16:
      return ops.matmul_f32_bf16w(x, ldx, n_tok, w, bias, y, ldy);
    case ElemType::kF16:
      return ops.matmul_f32_f16w(x, ldx, n_tok, w, bias, y, ldy);
    case ElemType::kF32:
      return ops.matmul_f32_f32w(x, ldx, n_tok, w, bias, y, ldy);
    case ElemType::kQ8:
      return ops.matmul_f32_q8w(x, ldx, n_tok, w, bias, y, ldy);
  }
}

// Row r of a dense matrix as floats (embedding lookup).
void dense_row_to_f32(const Ops& ops, const DenseMatrix& w, size_t r, float* y);

// The scalar reference table: the truth every other variant is tested against.
const Ops& ref_ops();

// Names of the variants compiled in and supported by this CPU, best first
// ("ref" is always last).
std::vector<std::string_view> available_isas();

// The variant called `isa`; an error names the available ones.
Result<const Ops*> find_ops(std::string_view isa);

// The table to use: $QUARRY_ISA when set (an error when it names no usable
// variant), else the best available exact one.
Result<const Ops*> ops_from_env();

}  // namespace quarry::kernels
