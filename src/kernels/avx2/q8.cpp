// y = x W^T + b for Q8 weights with AVX2, bit-identical to ref: activations
// quantized by the same scalar quantize_block_q8; per 32-input block the int8
// dot products (exact integers: |sum| <= 32 * 127 * 127) of 8 rows at once via
// maddubs on |w| and sign(x, w); then, lane = row, acc += (sw * sx) * dot in
// increasing block order — the reference's order, one multiply and one add.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/avx2/avx2_kernels.h"
#include "kernels/numeric.h"

#define QUARRY_AVX2 __attribute__((target("avx2,f16c")))

namespace quarry::kernels::avx2 {
namespace {

constexpr size_t kTokTile = 4;

// The 8 lanes of each of d[0..7] summed: lane k of the result is row k's dot.
QUARRY_AVX2 inline __m256i reduce8(const __m256i* d) {
  const __m256i s01 = _mm256_hadd_epi32(d[0], d[1]);
  const __m256i s23 = _mm256_hadd_epi32(d[2], d[3]);
  const __m256i s45 = _mm256_hadd_epi32(d[4], d[5]);
  const __m256i s67 = _mm256_hadd_epi32(d[6], d[7]);
  const __m256i s0123 = _mm256_hadd_epi32(s01, s23);  // rows 0-3, per 128-bit half
  const __m256i s4567 = _mm256_hadd_epi32(s45, s67);  // rows 4-7
  const __m256i lo = _mm256_permute2x128_si256(s0123, s4567, 0x20);
  const __m256i hi = _mm256_permute2x128_si256(s0123, s4567, 0x31);
  return _mm256_add_epi32(lo, hi);
}

// 32 int8 products summed in 8 i32 lanes.
QUARRY_AVX2 inline __m256i dot32(__m256i w, __m256i x) {
  const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

// Rows [r0, r0 + 8) for nt tokens; `prefetch`: fetch the next 8 rows meanwhile.
QUARRY_AVX2 void rows8(const DenseMatrix& w, size_t r0, size_t nt, const int8_t* qx,
                       const float* sx, size_t nb, const float* bias, float* y, size_t ldy,
                       bool prefetch) {
  __m256 acc[kTokTile];
  for (size_t t = 0; t < nt; ++t) acc[t] = _mm256_setzero_ps();
  const __m256i sidx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                          _mm256_set1_epi32(static_cast<int>(w.scales_row_stride)));
  const float* s0 = w.scales + r0 * w.scales_row_stride;
  const int8_t* row[8];
  for (size_t k = 0; k < 8; ++k) row[k] = reinterpret_cast<const int8_t*>(w.row_ptr(r0 + k));
  // The weights stream from memory once: with the first token tile the next 8
  // rows (codes and scales; at most one past the end when there are none)
  // are prefetched while these are computed, spread over the blocks.
  const char* next = reinterpret_cast<const char*>(w.row_ptr(r0 + 8));
  const size_t next_rows = std::min<size_t>(8, w.n_rows - std::min(w.n_rows, r0 + 8));
  const size_t next_len = next_rows * w.row_stride;  // int8: one byte per element
  const char* next_scales = reinterpret_cast<const char*>(s0 + 8 * w.scales_row_stride);
  const size_t next_scales_len = next_rows * w.scales_row_stride * sizeof(float);
  const bool more = prefetch && r0 + 8 < w.n_rows;
  for (size_t b = 0; b < nb; ++b) {
    if (more) {
      const size_t at = b * next_len / nb / 64 * 64;
      for (size_t c = 0; c < 4; ++c) _mm_prefetch(next + at + 64 * c, _MM_HINT_T0);
      if (b * 64 < next_scales_len) _mm_prefetch(next_scales + b * 64, _MM_HINT_T0);
    }
    __m256i wv[8];
    for (size_t k = 0; k < 8; ++k) {
      wv[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[k] + b * 32));
    }
    const __m256 sw = _mm256_i32gather_ps(s0 + b, sidx, 4);
    for (size_t t = 0; t < nt; ++t) {
      const __m256i xv =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx + t * nb * 32 + b * 32));
      __m256i d[8];
      for (size_t k = 0; k < 8; ++k) d[k] = dot32(wv[k], xv);
      const __m256 dot = _mm256_cvtepi32_ps(reduce8(d));
      const __m256 scale = _mm256_mul_ps(sw, _mm256_set1_ps(sx[t * nb + b]));
      acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(scale, dot));
    }
  }
  for (size_t t = 0; t < nt; ++t) {
    __m256 out = acc[t];
    if (bias != nullptr) out = _mm256_add_ps(out, _mm256_loadu_ps(bias + r0));
    _mm256_storeu_ps(y + t * ldy + r0, out);
  }
}

}  // namespace

QUARRY_AVX2 void matmul_f32_q8w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                                const float* bias, float* y, size_t ldy) {
  const size_t nb = w.d_in / 32;
  thread_local std::vector<int8_t> qx;
  thread_local std::vector<float> sx;
  qx.resize(n_tok * w.d_in);
  sx.resize(n_tok * nb);
  for (size_t t = 0; t < n_tok; ++t) {
    for (size_t b = 0; b < nb; ++b) {
      quantize_block_q8(x + t * ldx + b * 32, &qx[t * nb * 32 + b * 32], &sx[t * nb + b]);
    }
  }
  // Rows outer, token tiles inner: 8 rows are read from memory once and stay
  // in cache for every tile.
  size_t r = 0;
  for (; r + 8 <= w.n_rows; r += 8) {
    for (size_t t0 = 0; t0 < n_tok; t0 += kTokTile) {
      rows8(w, r, std::min(kTokTile, n_tok - t0), qx.data() + t0 * nb * 32, sx.data() + t0 * nb, nb,
            bias, y + t0 * ldy, ldy, t0 == 0);
    }
  }
  for (; r < w.n_rows; ++r) {  // the rest, as the reference
    const auto* q = reinterpret_cast<const int8_t*>(w.row_ptr(r));
    const float* s = w.scales + r * w.scales_row_stride;
    for (size_t t = 0; t < n_tok; ++t) {
      float acc = 0.0f;
      for (size_t b = 0; b < nb; ++b) {
        int32_t dot = 0;
        for (size_t i = b * 32; i < b * 32 + 32; ++i) {
          dot += int32_t{q[i]} * int32_t{qx[t * nb * 32 + i]};
        }
        acc += (s[b] * sx[t * nb + b]) * static_cast<float>(dot);
      }
      y[t * ldy + r] = bias != nullptr ? acc + bias[r] : acc;
    }
  }
}

}  // namespace quarry::kernels::avx2
