// AVX2 (+F16C) kernels: the `avx2` op table. The matmuls follow the
// reference's summation order exactly (lane i % 8, a multiply then an add per
// element, the same final combination), so they give bit-identical results:
// the exact mode stays exact at vector speed. Ops without an AVX2 version use
// the reference.
#pragma once

#include "kernels/ops.h"

namespace quarry::kernels::avx2 {

bool supported();  // AVX2 and F16C on this CPU
const Ops& ops();

// Q8 weights (q8.cpp), bit-identical to ref::matmul_f32_q8w.
void matmul_f32_q8w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                    const float* bias, float* y, size_t ldy);

// out[(i - i0) * 8 + j] = rows[j][i] for i in [i0, i0 + 8) (attention.cpp).
void transpose8(const float* const* rows, size_t i0, float* out);

// Attention (attention.cpp), bit-identical to ref::attention_sink_swa_f32.
void attention_sink_swa_f32(const float* q, const KvLayerView& kv, size_t pos, const float* sinks,
                            const AttentionShape& shape, size_t head_begin, size_t head_end,
                            float* out);

// `avx2_fast`: not exact (int8 activations for the MXFP4 experts, FMA for the
// dense matmuls); never chosen by default, only by QUARRY_ISA=avx2_fast.
bool fast_supported();  // also FMA
const Ops& fast_ops();

// avx2_fast's attention (fast_attention.cpp): the softmax updated per chunk
// of 8 keys, a polynomial exp, FMA.
void attention_fast(const float* q, const KvLayerView& kv, size_t pos, const float* sinks,
                    const AttentionShape& shape, size_t head_begin, size_t head_end, float* out);

// Quantizes n_blocks blocks of 32 floats to int8 codes q and scales d with
// x ~ d q, d = amax / 127 (fast.cpp).
void quantize_q8_blocks(const float* x, size_t n_blocks, int8_t* q, float* d);
// 2^(s-128) for each E8M0 scale byte s: the scale of the doubled E2M1 codes
// (fast.cpp).
const float* half_scales();
// The fast MXFP4 matmul over block pairs (fast_mxfp4.cpp); false (nothing
// written) when the blocks per row are odd.
bool moe_matmul_q8_pairs(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w,
                         const float* bias, float* y, size_t ldy);

// Dense BF16 by FMA over row triples and tiles of up to 4 tokens (fast.cpp):
// avx2_fast's kernel below the GEMM's token counts; not exact.
void matmul_bf16_rows(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                      const float* bias, float* y, size_t ldy);

// Float GEMMs for many tokens (gemm.cpp): weights decoded to f32, a 6-row x
// 16-token FMA tile; not exact (another summation order, float activations).
void moe_matmul_gemm(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w,
                     const float* bias, float* y, size_t ldy);
void matmul_bf16_gemm(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                      const float* bias, float* y, size_t ldy);
void matmul_q8_gemm(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                    const float* bias, float* y, size_t ldy);  // d_in a multiple of 32

}  // namespace quarry::kernels::avx2
