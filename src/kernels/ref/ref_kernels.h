// The scalar reference kernels (the `ref` op table). Signatures and
// semantics are documented on `Ops` in kernels/ops.h.
#pragma once

#include "kernels/ops.h"

namespace quarry::kernels::ref {

void bf16_to_f32(const uint16_t* x, size_t n, float* y);
void f16_to_f32(const uint16_t* x, size_t n, float* y);

void matmul_f32_bf16w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                      const float* bias, float* y, size_t ldy);
void matmul_f32_f16w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                     const float* bias, float* y, size_t ldy);
void matmul_f32_f32w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                     const float* bias, float* y, size_t ldy);
void matmul_f32_q8w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                    const float* bias, float* y, size_t ldy);
void moe_matmul_f32_mxfp4w(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w,
                           const float* bias, float* y, size_t ldy);

void rmsnorm_f32(const float* x, size_t n_tok, size_t d_model, const float* g, float eps, float* y);
void rope_yarn_f32(float* x, size_t n_head, size_t d_head, const float* cos, const float* sin);
void attention_sink_swa_f32(const float* q, const KvLayerView& kv, size_t pos, const float* sinks,
                            const AttentionShape& shape, size_t head_begin, size_t head_end,
                            float* out);
void swiglu_clamp_f32(const float* gate, const float* up, size_t n, float alpha, float limit,
                      float* out);
void topk_softmax_f32(const float* logits, size_t n_expert, size_t k, int32_t* ids, float* weights);
void axpy_f32(float a, const float* x, size_t n, float* y);

}  // namespace quarry::kernels::ref
