// The AVX-512 kernels' inner loops over plain pointers (raw.cpp). raw.cpp is
// compiled with -mavx512* flags, so it shares no inline or template code with
// the rest of the program (only these plain structs and functions, and
// simd.h's static helpers): a copy of
// a header's inline function compiled there could otherwise be the one the
// linker keeps, and run on a CPU without AVX-512.
//
// The same source is compiled a second time without those flags, in the
// namespace avx512_emu, where SIMDe's portable code stands in for every
// intrinsic: the tests run that copy on any CPU, so the kernels' logic is
// checked even where the hardware is missing.
#pragma once

#include <cstddef>
#include <cstdint>

#ifndef QUARRY_AVX512_NS
#define QUARRY_AVX512_NS avx512
#endif

namespace quarry::kernels::QUARRY_AVX512_NS {

// Rows of an MXFP4 matrix with an even number of blocks per row.
struct Mxfp4Rows {
  const uint8_t* codes;   // HF: 16 code bytes per block; GGML: 17-byte blocks
  size_t codes_stride;    // bytes per row
  const uint8_t* scales;  // HF: one E8M0 byte per block; GGML: null
  size_t scales_stride;
  size_t n_rows;
  size_t n_pairs;  // blocks per row / 2
  bool hf;
};

// Tokens' activations quantized per block of 32 and laid out per block pair
// in the codes' nibble order: for pair p of token t (at = t * n_pairs + p),
// q[at * 64 ..]: block A's 16 low-nibble elements, block B's, then A's 16
// high-nibble elements, B's; half_corr[at * 8 ..]: -6 * sum(q of A) in lane 0
// and -6 * sum(q of B) in lane 4 (each counted twice, once per 256-bit half);
// d[at * 8 ..]: A's scale in lanes 0-3, B's in 4-7.
struct PairActs {
  const int8_t* q;
  const int32_t* half_corr;
  const float* d;
};

// y[t][r] = bias[r] + sum over blocks of w_scale * x_scale * int dot, for
// tokens [0, n_tok) and rows [0, w.n_rows). half: 2^(s-128) per scale byte.
void mxfp4_pairs(const PairActs& a, size_t n_tok, const Mxfp4Rows& w, const float* half,
                 const float* bias, float* y, size_t ldy);

// y[t][r] = sum over i < n of x[t][i] * w[r][i], x and w in BF16 (n a
// multiple of 32): AVX512-BF16 dot products.
void bf16_rows(const uint16_t* x, size_t ldx, size_t n_tok, const uint16_t* w, size_t ldw,
               size_t n_rows, size_t n, float* y, size_t ldy);

}  // namespace quarry::kernels::QUARRY_AVX512_NS
