// y = x W^T + b with AVX2: weights decoded 256 at a time into a buffer (BF16 by
// a shift, F16 by F16C, MXFP4 by a byte shuffle on the nibbles), shared by up
// to 4 tokens, each token accumulating 8 lanes with _mm256_mul_ps then
// _mm256_add_ps, exactly like ref/matmul.cpp's scalar loop. No FMA: a fused
// multiply-add rounds once where the reference rounds twice, and with FMA
// enabled GCC would contract the multiply and add itself (-ffp-contract=fast
// is its default), so the target leaves "fma" out.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/avx2/avx2_kernels.h"
#include "kernels/numeric.h"
#include "kernels/ref/ref_kernels.h"

#define QUARRY_AVX2 __attribute__((target("avx2,f16c")))

namespace quarry::kernels::avx2 {
namespace {

constexpr size_t kLanes = 8;
constexpr size_t kTokTile = 4;
constexpr size_t kChunk = 256;

QUARRY_AVX2 inline void decode_bf16(const uint16_t* x, size_t n, float* y) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
    const __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
    _mm256_storeu_ps(y + i, _mm256_castsi256_ps(w));
  }
  for (; i < n; ++i) y[i] = kernels::bf16_to_f32(x[i]);
}

QUARRY_AVX2 inline void decode_f16(const uint16_t* x, size_t n, float* y) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) y[i] = kernels::f16_to_f32(x[i]);
}

// ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)), as the reference combines its lanes.
QUARRY_AVX2 inline float combine(__m256 acc) {
  alignas(32) float a[8];
  _mm256_store_ps(a, acc);
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// One chunk of one row, for NT tokens: acc[t] += x[t][i] * w[i] lane-wise,
// in increasing i; the scalar remainder (d_in % 8 != 0) goes to lane i % 8.
template <size_t NT>
QUARRY_AVX2 inline void accumulate(const float* x, size_t ldx, const float* w, size_t n,
                                   __m256* acc) {
  const size_t nv = n / kLanes * kLanes;
  for (size_t i = 0; i < nv; i += kLanes) {
    const __m256 wv = _mm256_load_ps(w + i);
    for (size_t t = 0; t < NT; ++t) {
      acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_loadu_ps(x + t * ldx + i), wv));
    }
  }
  if (nv < n) {
    for (size_t t = 0; t < NT; ++t) {
      alignas(32) float lanes[kLanes];
      _mm256_store_ps(lanes, acc[t]);
      for (size_t i = nv; i < n; ++i) lanes[i % kLanes] += x[t * ldx + i] * w[i];
      acc[t] = _mm256_load_ps(lanes);
    }
  }
}

// NT tokens (1..4) against rows [0, n_rows), kRowTile rows at a time, so
// that every tile has 4 to 8 independent chains of adds in flight (a single
// chain would wait on the add latency every 8 elements).
template <size_t NT, class Load>
QUARRY_AVX2 void matmul_tile(const float* x, size_t ldx, size_t n_rows, size_t d_in, Load& load,
                             const float* bias, float* y, size_t ldy) {
  constexpr size_t kRowTile = NT == 1 ? 4 : 2;
  alignas(32) float wbuf[kRowTile][kChunk];
  for (size_t r0 = 0; r0 < n_rows; r0 += kRowTile) {
    const size_t nr = std::min(kRowTile, n_rows - r0);
    __m256 acc[kRowTile][NT];
    for (size_t k = 0; k < kRowTile; ++k) {
      for (size_t t = 0; t < NT; ++t) acc[k][t] = _mm256_setzero_ps();
    }
    for (size_t i0 = 0; i0 < d_in; i0 += kChunk) {
      const size_t n = std::min(kChunk, d_in - i0);
      for (size_t k = 0; k < nr; ++k) load(r0 + k, i0, n, wbuf[k]);
      if (nr == kRowTile) {
        for (size_t k = 0; k < kRowTile; ++k) accumulate<NT>(x + i0, ldx, wbuf[k], n, acc[k]);
      } else {
        for (size_t k = 0; k < nr; ++k) accumulate<NT>(x + i0, ldx, wbuf[k], n, acc[k]);
      }
    }
    for (size_t k = 0; k < nr; ++k) {
      for (size_t t = 0; t < NT; ++t) {
        const float s = combine(acc[k][t]);
        y[t * ldy + r0 + k] = bias != nullptr ? s + bias[r0 + k] : s;
      }
    }
  }
}

template <class Load>
QUARRY_AVX2 void matmul_rows(const float* x, size_t ldx, size_t n_tok, size_t n_rows, size_t d_in,
                             Load load, const float* bias, float* y, size_t ldy) {
  size_t t0 = 0;
  for (; t0 + 4 <= n_tok; t0 += 4) {
    matmul_tile<4>(x + t0 * ldx, ldx, n_rows, d_in, load, bias, y + t0 * ldy, ldy);
  }
  const float* xt = x + t0 * ldx;
  float* yt = y + t0 * ldy;
  switch (n_tok - t0) {
    case 3:
      return matmul_tile<3>(xt, ldx, n_rows, d_in, load, bias, yt, ldy);
    case 2:
      return matmul_tile<2>(xt, ldx, n_rows, d_in, load, bias, yt, ldy);
    case 1:
      return matmul_tile<1>(xt, ldx, n_rows, d_in, load, bias, yt, ldy);
    default:
      return;
  }
}

QUARRY_AVX2 void bf16_to_f32(const uint16_t* x, size_t n, float* y) { decode_bf16(x, n, y); }
QUARRY_AVX2 void f16_to_f32(const uint16_t* x, size_t n, float* y) { decode_f16(x, n, y); }

QUARRY_AVX2 void matmul_f32_bf16w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                                  const float* bias, float* y, size_t ldy) {
  auto load = [&](size_t r, size_t i0, size_t n, float* out) QUARRY_AVX2 {
    // The same chunk 4 rows on (the next decode tile) is fetched meanwhile.
    if (r + 4 < w.n_rows) {
      const char* ahead = reinterpret_cast<const char*>(w.row_ptr(r + 4)) + 2 * i0;
      for (size_t b = 0; b < 2 * n; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
    }
    decode_bf16(reinterpret_cast<const uint16_t*>(w.row_ptr(r)) + i0, n, out);
  };
  matmul_rows(x, ldx, n_tok, w.n_rows, w.d_in, load, bias, y, ldy);
}

QUARRY_AVX2 void matmul_f32_f16w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                                 const float* bias, float* y, size_t ldy) {
  auto load = [&](size_t r, size_t i0, size_t n, float* out) QUARRY_AVX2 {
    decode_f16(reinterpret_cast<const uint16_t*>(w.row_ptr(r)) + i0, n, out);
  };
  matmul_rows(x, ldx, n_tok, w.n_rows, w.d_in, load, bias, y, ldy);
}

QUARRY_AVX2 void matmul_f32_f32w(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                                 const float* bias, float* y, size_t ldy) {
  auto load = [&](size_t r, size_t i0, size_t n, float* out) QUARRY_AVX2 {
    std::memcpy(out, reinterpret_cast<const float*>(w.row_ptr(r)) + i0, n * sizeof(float));
  };
  matmul_rows(x, ldx, n_tok, w.n_rows, w.d_in, load, bias, y, ldy);
}

// The 32 weights of one MXFP4 block as four vectors of 8 floats, in element
// order, each exactly the reference's kFp4Values[c] * 2^(s-127): the table
// holds the values doubled (small integers, exact in int8) and the scale is
// halved, 2^(s-128), exactly representable for every s < 255.
struct Block32 {
  __m256 q[4];
};

QUARRY_AVX2 inline Block32 block_from_codes(__m128i lo16, __m128i hi16, uint8_t scale) {
  const __m128i lut = _mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
  const __m128i a = _mm_shuffle_epi8(lut, lo16);
  const __m128i b = _mm_shuffle_epi8(lut, hi16);
  const float half_scale =
      scale == 255 ? kernels::e8m0_to_f32(255) : kernels::e8m0_to_f32(scale) * 0.5f;
  const __m256 sc = _mm256_set1_ps(half_scale);
  Block32 out;
  out.q[0] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(a)), sc);
  out.q[1] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(a, 8))), sc);
  out.q[2] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)), sc);
  out.q[3] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8))), sc);
  return out;
}

QUARRY_AVX2 inline Block32 block_hf(const uint8_t* codes, uint8_t scale) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes));
  const __m128i mask = _mm_set1_epi8(0x0F);
  const __m128i lo = _mm_and_si128(bytes, mask);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
  return block_from_codes(_mm_unpacklo_epi8(lo, hi), _mm_unpackhi_epi8(lo, hi), scale);
}

QUARRY_AVX2 inline Block32 block_ggml(const uint8_t* block) {
  __m128i bytes;
  std::memcpy(&bytes, block + 1, 16);
  const __m128i mask = _mm_set1_epi8(0x0F);
  return block_from_codes(_mm_and_si128(bytes, mask), _mm_and_si128(_mm_srli_epi16(bytes, 4), mask),
                          block[0]);
}

// MXFP4 with the decode fused into the dot product: each block is decoded into
// registers and used at once by NT tokens, NR rows at a time. The additions
// into each lane happen in increasing element order, as in the reference.
template <size_t NT, size_t NR>
QUARRY_AVX2 void mxfp4_tile(const float* x, size_t ldx, const Mxfp4Matrix& w, const float* bias,
                            float* y, size_t ldy) {
  const size_t G = w.n_blocks();
  for (size_t r0 = 0; r0 < w.n_rows; r0 += NR) {
    const size_t nr = std::min(NR, w.n_rows - r0);
    __m256 acc[NR][NT];
    for (size_t k = 0; k < NR; ++k) {
      for (size_t t = 0; t < NT; ++t) acc[k][t] = _mm256_setzero_ps();
    }
    const uint8_t* codes[NR];
    const uint8_t* scales[NR];
    for (size_t k = 0; k < NR; ++k) {
      const size_t r = r0 + std::min(k, nr - 1);  // a short tile repeats its last row
      codes[k] = w.codes + r * w.codes_row_stride;
      scales[k] = w.layout == Mxfp4Layout::kHF ? w.scales + r * w.scales_row_stride : nullptr;
    }
    // The next NR rows stream in meanwhile, spread over the blocks.
    const bool more = r0 + NR < w.n_rows;
    const char* next =
        more ? reinterpret_cast<const char*>(w.codes + (r0 + NR) * w.codes_row_stride) : nullptr;
    const size_t next_len =
        std::min(NR, w.n_rows - std::min(w.n_rows, r0 + NR)) * w.codes_row_stride;
    // Blocks outer, rows inner: the NR rows' chains of adds interleave.
    for (size_t g = 0; g < G; ++g) {
      if (more) {
        const size_t end = (g + 1) * next_len / G;
        for (size_t at = g * next_len / G / 64 * 64; at < end; at += 64) {
          _mm_prefetch(next + at, _MM_HINT_T0);
        }
      }
      for (size_t k = 0; k < NR; ++k) {
        const Block32 b = w.layout == Mxfp4Layout::kHF ? block_hf(codes[k] + g * 16, scales[k][g])
                                                       : block_ggml(codes[k] + g * 17);
        for (size_t t = 0; t < NT; ++t) {
          const float* xt = x + t * ldx + g * 32;
          __m256 a = acc[k][t];
          for (size_t q = 0; q < 4; ++q) {
            a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_loadu_ps(xt + 8 * q), b.q[q]));
          }
          acc[k][t] = a;
        }
      }
    }
    for (size_t k = 0; k < nr; ++k) {
      for (size_t t = 0; t < NT; ++t) {
        const float s = combine(acc[k][t]);
        y[t * ldy + r0 + k] = bias != nullptr ? s + bias[r0 + k] : s;
      }
    }
  }
}

QUARRY_AVX2 void moe_matmul_f32_mxfp4w(const float* x, size_t ldx, size_t n_tok,
                                       const Mxfp4Matrix& w, const float* bias, float* y,
                                       size_t ldy) {
  size_t t0 = 0;
  for (; t0 + 4 <= n_tok; t0 += 4) mxfp4_tile<4, 2>(x + t0 * ldx, ldx, w, bias, y + t0 * ldy, ldy);
  const float* xt = x + t0 * ldx;
  float* yt = y + t0 * ldy;
  switch (n_tok - t0) {
    case 3:
      return mxfp4_tile<3, 2>(xt, ldx, w, bias, yt, ldy);
    case 2:
      return mxfp4_tile<2, 2>(xt, ldx, w, bias, yt, ldy);
    case 1:
      return mxfp4_tile<1, 4>(xt, ldx, w, bias, yt, ldy);
    default:
      return;
  }
}

Ops make_ops() {
  Ops o = ref_ops();  // the ops without an AVX2 version
  o.isa = "avx2";
  o.bf16_to_f32 = bf16_to_f32;
  o.f16_to_f32 = f16_to_f32;
  o.matmul_f32_bf16w = matmul_f32_bf16w;
  o.matmul_f32_f16w = matmul_f32_f16w;
  o.matmul_f32_f32w = matmul_f32_f32w;
  o.matmul_f32_q8w = avx2::matmul_f32_q8w;
  o.moe_matmul_f32_mxfp4w = moe_matmul_f32_mxfp4w;
  o.attention_sink_swa_f32 = avx2::attention_sink_swa_f32;
  return o;
}

}  // namespace

bool supported() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c"); }

const Ops& ops() {
  static const Ops o = make_ops();
  return o;
}

}  // namespace quarry::kernels::avx2
