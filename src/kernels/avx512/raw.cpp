// The `avx512_fast` inner loops (see raw.h for why they live apart).
//
// MXFP4: as `avx2_fast`, activations are int8 per block of 32 and the codes
// go through a lookup table of doubled E2M1 values plus 12 (unsigned, as
// VPDPBUSD wants its first operand). One block pair is one 512-bit vector:
// the pair's 32 code bytes are broadcast to both halves, the upper half
// shifted right by 4, both masked to nibbles and looked up, which gives the
// order of PairActs::q. VPDPBUSD starts from -6 * sum(q) in one lane per block
// and half (the offset's correction) and sums four byte products per lane; one
// multiply by the two blocks' scale products and one FMA per row and token
// follow.
//
// BF16: VDPBF16PS over 32 elements per instruction, activations rounded to
// BF16 once per call (as llama.cpp does for BF16 weights).
#include "kernels/avx512/raw.h"

#include <cstring>

#include "kernels/avx512/simd.h"

namespace quarry::kernels::QUARRY_AVX512_NS {
namespace {

using F = simde__m512;
using I = simde__m512i;

using simd512::hsum;
using simd512::min_size;
using simd512::to_float;

// 32 bytes, the same in both 256-bit halves.
inline I twice(simde__m256i v) { return simde_mm512_broadcast_i64x4(v); }

inline simde__m512bh load_bh(const uint16_t* p) {
  simde__m512bh v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <bool kHF>
struct Rows {
  const Mxfp4Rows& w;
  // The code bytes of blocks 2p and 2p+1 of row r, in both halves.
  I codes(size_t r, size_t p) const {
    const uint8_t* row = w.codes + r * w.codes_stride;
    if constexpr (kHF) {
      return twice(simde_mm256_loadu_si256(row + p * 32));
    } else {
      return twice(simde_mm256_loadu2_m128i(
          reinterpret_cast<const simde__m128i*>(row + (2 * p + 1) * 17 + 1),
          reinterpret_cast<const simde__m128i*>(row + 2 * p * 17 + 1)));
    }
  }
  // Block 2p's weight scale in lanes 0-3 and 8-11, block 2p+1's in 4-7, 12-15.
  F scales(size_t r, size_t p, const float* half) const {
    uint8_t s0, s1;
    if constexpr (kHF) {
      const uint8_t* sc = w.scales + r * w.scales_stride + 2 * p;
      s0 = sc[0];
      s1 = sc[1];
    } else {
      const uint8_t* row = w.codes + r * w.codes_stride;
      s0 = row[2 * p * 17];
      s1 = row[(2 * p + 1) * 17];
    }
    return simde_mm512_mask_blend_ps(0xF0F0, simde_mm512_set1_ps(half[s0]),
                                     simde_mm512_set1_ps(half[s1]));
  }
};

// Rows [r0, r0 + NR) for tokens [t0, t0 + NT).
template <size_t NT, size_t NR, bool kHF>
void tile(const PairActs& a, const Rows<kHF>& rows, size_t r0, size_t t0, const float* half,
          const float* bias, float* y, size_t ldy) {
  const Mxfp4Rows& w = rows.w;
  const size_t n_pairs = w.n_pairs;
  const I mask = simde_mm512_set1_epi8(0x0F);
  const I lut = simde_mm512_broadcast_i32x4(
      simde_mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
  // Shift counts per 16-bit lane: 0 in the lower half, 4 in the upper.
  const I shift =
      simde_mm512_inserti64x4(simde_mm512_setzero_si512(), simde_mm256_set1_epi16(4), 1);
  F acc[NR][NT];
#pragma GCC unroll 16
  for (size_t k = 0; k < NR; ++k) {
#pragma GCC unroll 16
    for (size_t t = 0; t < NT; ++t) acc[k][t] = simde_mm512_setzero_ps();
  }
  // While the first token tile computes this group of rows, the next group's
  // bytes are prefetched, spread over the pairs.
  const char* next = reinterpret_cast<const char*>(w.codes + (r0 + NR) * w.codes_stride);
  const size_t next_rows = w.n_rows - min_size(w.n_rows, r0 + NR);
  const size_t next_len = min_size(NR, next_rows) * w.codes_stride;
  const char* next_scales =
      kHF ? reinterpret_cast<const char*>(w.scales + (r0 + NR) * w.scales_stride) : nullptr;
  for (size_t p = 0; p < n_pairs; ++p) {
    if (t0 == 0 && next_rows > 0) {
      const size_t end = (p + 1) * next_len / n_pairs;
      for (size_t at = p * next_len / n_pairs / 64 * 64; at < end; at += 64) {
        simde_mm_prefetch(next + at, SIMDE_MM_HINT_T0);
      }
      if (kHF && p * 64 < min_size(NR, next_rows) * w.scales_stride) {
        simde_mm_prefetch(next_scales + p * 64, SIMDE_MM_HINT_T0);
      }
    }
#pragma GCC unroll 16
    for (size_t k = 0; k < NR; ++k) {
      const I nib =
          simde_mm512_and_si512(simde_mm512_srlv_epi16(rows.codes(r0 + k, p), shift), mask);
      const I wq = simde_mm512_shuffle_epi8(lut, nib);
      const F sw = rows.scales(r0 + k, p, half);
#pragma GCC unroll 16
      for (size_t t = 0; t < NT; ++t) {
        const size_t at = (t0 + t) * n_pairs + p;
        const I xq = simde_mm512_loadu_si512(a.q + at * 64);
        const I corr = twice(simde_mm256_loadu_si256(a.half_corr + at * 8));
        const F sx = simde_mm512_castsi512_ps(twice(simde_mm256_loadu_si256(a.d + at * 8)));
        // Lane sums of (w + 12) x: at most 4 * 24 * 127, no overflow.
        const I dot = simde_mm512_dpbusd_epi32(corr, wq, xq);
        acc[k][t] = simde_mm512_fmadd_ps(to_float(dot), simde_mm512_mul_ps(sw, sx), acc[k][t]);
      }
    }
  }
#pragma GCC unroll 16
  for (size_t k = 0; k < NR; ++k) {
#pragma GCC unroll 16
    for (size_t t = 0; t < NT; ++t) {
      const float v = hsum(acc[k][t]);
      y[(t0 + t) * ldy + r0 + k] = bias != nullptr ? v + bias[r0 + k] : v;
    }
  }
}

// All tokens for rows [r0, r0 + NR): token tiles of 4, then the rest.
template <size_t NR, bool kHF>
void row_group(const PairActs& a, size_t n_tok, const Rows<kHF>& rows, size_t r0, const float* half,
               const float* bias, float* y, size_t ldy) {
  size_t t0 = 0;
  for (; t0 + 4 <= n_tok; t0 += 4) tile<4, NR, kHF>(a, rows, r0, t0, half, bias, y, ldy);
  switch (n_tok - t0) {
    case 3:
      return tile<3, NR, kHF>(a, rows, r0, t0, half, bias, y, ldy);
    case 2:
      return tile<2, NR, kHF>(a, rows, r0, t0, half, bias, y, ldy);
    case 1:
      return tile<1, NR, kHF>(a, rows, r0, t0, half, bias, y, ldy);
    default:
      return;
  }
}

template <bool kHF>
void run_mxfp4(const PairActs& a, size_t n_tok, const Mxfp4Rows& w, const float* half,
               const float* bias, float* y, size_t ldy) {
  const Rows<kHF> rows{w};
  size_t r = 0;
  // Rows outer, token tiles inner: four rows' codes stay in L1 while every
  // token tile uses them (decode: four rows interleave their chains).
  for (; r + 4 <= w.n_rows; r += 4) row_group<4, kHF>(a, n_tok, rows, r, half, bias, y, ldy);
  for (; r < w.n_rows; ++r) row_group<1, kHF>(a, n_tok, rows, r, half, bias, y, ldy);
}

// Rows [r0, r0 + NR) for tokens [t0, t0 + NT) of the BF16 dot.
template <size_t NT, size_t NR>
void bf16_tile(const uint16_t* x, size_t ldx, const uint16_t* w, size_t ldw, size_t n_rows,
               size_t n, size_t r0, size_t t0, float* y, size_t ldy) {
  F acc[NR][NT];
#pragma GCC unroll 16
  for (size_t k = 0; k < NR; ++k) {
#pragma GCC unroll 16
    for (size_t t = 0; t < NT; ++t) acc[k][t] = simde_mm512_setzero_ps();
  }
  const size_t next_rows = n_rows - min_size(n_rows, r0 + NR);
  const char* next = reinterpret_cast<const char*>(w + (r0 + NR) * ldw);
  for (size_t i = 0; i < n; i += 32) {
    if (t0 == 0 && next_rows > 0) {
      for (size_t k = 0; k < min_size(NR, next_rows); ++k) {
        simde_mm_prefetch(next + 2 * (k * ldw + i), SIMDE_MM_HINT_T0);
      }
    }
    simde__m512bh wv[NR];
#pragma GCC unroll 16
    for (size_t k = 0; k < NR; ++k) wv[k] = load_bh(w + (r0 + k) * ldw + i);
#pragma GCC unroll 16
    for (size_t t = 0; t < NT; ++t) {
      const simde__m512bh xv = load_bh(x + (t0 + t) * ldx + i);
#pragma GCC unroll 16
      for (size_t k = 0; k < NR; ++k) acc[k][t] = simde_mm512_dpbf16_ps(acc[k][t], wv[k], xv);
    }
  }
#pragma GCC unroll 16
  for (size_t k = 0; k < NR; ++k) {
#pragma GCC unroll 16
    for (size_t t = 0; t < NT; ++t) y[(t0 + t) * ldy + r0 + k] = hsum(acc[k][t]);
  }
}

template <size_t NR>
void bf16_row_group(const uint16_t* x, size_t ldx, size_t n_tok, const uint16_t* w, size_t ldw,
                    size_t n_rows, size_t n, size_t r0, float* y, size_t ldy) {
  size_t t0 = 0;
  for (; t0 + 4 <= n_tok; t0 += 4) bf16_tile<4, NR>(x, ldx, w, ldw, n_rows, n, r0, t0, y, ldy);
  switch (n_tok - t0) {
    case 3:
      return bf16_tile<3, NR>(x, ldx, w, ldw, n_rows, n, r0, t0, y, ldy);
    case 2:
      return bf16_tile<2, NR>(x, ldx, w, ldw, n_rows, n, r0, t0, y, ldy);
    case 1:
      return bf16_tile<1, NR>(x, ldx, w, ldw, n_rows, n, r0, t0, y, ldy);
    default:
      return;
  }
}

}  // namespace

void mxfp4_pairs(const PairActs& a, size_t n_tok, const Mxfp4Rows& w, const float* half,
                 const float* bias, float* y, size_t ldy) {
  if (w.hf) {
    run_mxfp4<true>(a, n_tok, w, half, bias, y, ldy);
  } else {
    run_mxfp4<false>(a, n_tok, w, half, bias, y, ldy);
  }
}

void bf16_rows(const uint16_t* x, size_t ldx, size_t n_tok, const uint16_t* w, size_t ldw,
               size_t n_rows, size_t n, float* y, size_t ldy) {
  size_t r = 0;
  for (; r + 4 <= n_rows; r += 4) bf16_row_group<4>(x, ldx, n_tok, w, ldw, n_rows, n, r, y, ldy);
  for (; r < n_rows; ++r) bf16_row_group<1>(x, ldx, n_tok, w, ldw, n_rows, n, r, y, ldy);
}

}  // namespace quarry::kernels::QUARRY_AVX512_NS
