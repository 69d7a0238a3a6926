// The `avx2_fast` table: not bit-exact, opt-in (QUARRY_ISA=avx2_fast). MXFP4
// experts take activations quantized to int8 per block of 32 (scale amax/127,
// as llama.cpp's Q8_0), multiplied with the codes as int8 by maddubs (the
// doubled E2M1 values fit in int8), one float FMA per block (fast_mxfp4.cpp
// takes two blocks at a time; the one-block loop here serves odd block
// counts). Dense BF16 weights use FMA over row triples that share each
// activation load, the weights widened by a shift or a mask against
// activations permuted to match. Calls with many tokens go to the float GEMM
// of gemm.cpp instead (thresholds below, from
// quarry_kernels_bench). Attention updates its softmax per chunk of 8 keys
// (fast_attention.cpp). Everything else is the exact avx2/ref table.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/avx2/avx2_kernels.h"
#include "kernels/numeric.h"

#define QUARRY_AVX2_FMA __attribute__((target("avx2,fma,f16c")))

namespace quarry::kernels::avx2 {

// x[t][g*32 .. +32) -> int8 q and scale d with x ~ d q (|q| <= 127).
QUARRY_AVX2_FMA void quantize_q8_blocks(const float* x, size_t n_blocks, int8_t* q, float* d) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (size_t g = 0; g < n_blocks; ++g) {
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + g * 32 + 8 * k);
      m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[k]));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float scale = amax / 127.0f;
    d[g] = scale;
    const __m256 inv = _mm256_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    __m256i i32[4];
    for (int k = 0; k < 4; ++k) {
      i32[k] = _mm256_cvtps_epi32(
          _mm256_round_ps(_mm256_mul_ps(v[k], inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    const __m256i p01 = _mm256_packs_epi32(i32[0], i32[1]);
    const __m256i p23 = _mm256_packs_epi32(i32[2], i32[3]);
    __m256i p = _mm256_packs_epi16(p01, p23);
    // The packs work per 128-bit lane: restore element order.
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + g * 32), p);
  }
}

// 2^(s-128) for each scale byte (the codes are doubled); 255 (NaN) stays NaN.
const float* half_scales() {
  static const auto table = [] {
    std::array<float, 256> t{};
    for (int s = 0; s < 256; ++s) {
      t[s] = s == 255 ? e8m0_to_f32(255) : e8m0_to_f32(static_cast<uint8_t>(s)) * 0.5f;
    }
    return t;
  }();
  return table.data();
}

namespace {

// The 32 codes of a block as doubled E2M1 values, int8, in element order.
QUARRY_AVX2_FMA inline __m256i codes_i8(__m128i lo16, __m128i hi16) {
  const __m128i lut = _mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
  return _mm256_set_m128i(_mm_shuffle_epi8(lut, hi16), _mm_shuffle_epi8(lut, lo16));
}

QUARRY_AVX2_FMA inline __m256i block_i8(const Mxfp4Matrix& w, const uint8_t* row, size_t g,
                                        uint8_t* scale) {
  const __m128i mask = _mm_set1_epi8(0x0F);
  __m128i bytes;
  if (w.layout == Mxfp4Layout::kHF) {
    std::memcpy(&bytes, row + g * 16, 16);
    const __m128i lo = _mm_and_si128(bytes, mask);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
    return codes_i8(_mm_unpacklo_epi8(lo, hi), _mm_unpackhi_epi8(lo, hi));
  }
  *scale = row[g * 17];
  std::memcpy(&bytes, row + g * 17 + 1, 16);
  return codes_i8(_mm_and_si128(bytes, mask), _mm_and_si128(_mm_srli_epi16(bytes, 4), mask));
}

QUARRY_AVX2_FMA inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

constexpr size_t kTokTile = 4;

// From these token counts the float GEMM is the faster kernel (bench/README.md,
// "float GEMM for prefill" and "BF16 row triples").
constexpr size_t kGemmBf16 = 16, kGemmQ8 = 16, kGemmMxfp4 = 32;

QUARRY_AVX2_FMA void moe_matmul_q8(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w,
                                   const float* bias, float* y, size_t ldy) {
  if (n_tok >= kGemmMxfp4) return moe_matmul_gemm(x, ldx, n_tok, w, bias, y, ldy);
  // Even block counts (every gpt-oss width) take the block-pair kernel; this
  // one-block loop is the fallback for the rest.
  if (moe_matmul_q8_pairs(x, ldx, n_tok, w, bias, y, ldy)) return;
  const size_t G = w.n_blocks();
  thread_local std::vector<int8_t> qx;
  thread_local std::vector<float> dx;
  qx.resize(n_tok * G * 32);
  dx.resize(n_tok * G);
  for (size_t t = 0; t < n_tok; ++t)
    quantize_q8_blocks(x + t * ldx, G, &qx[t * G * 32], &dx[t * G]);
  const float* half = half_scales();
  const __m256i ones = _mm256_set1_epi16(1);
  for (size_t r = 0; r < w.n_rows; ++r) {
    const uint8_t* row = w.codes + r * w.codes_row_stride;
    const uint8_t* scales =
        w.layout == Mxfp4Layout::kHF ? w.scales + r * w.scales_row_stride : nullptr;
    for (size_t t0 = 0; t0 < n_tok; t0 += kTokTile) {
      const size_t nt = std::min(kTokTile, n_tok - t0);
      __m256 acc[kTokTile] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                              _mm256_setzero_ps()};
      for (size_t g = 0; g < G; ++g) {
        uint8_t s = scales != nullptr ? scales[g] : 0;
        const __m256i wq = block_i8(w, row, g, &s);
        const __m256i aw = _mm256_sign_epi8(wq, wq);
        for (size_t t = 0; t < nt; ++t) {
          const size_t tt = t0 + t;
          const __m256i xq =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&qx[(tt * G + g) * 32]));
          const __m256i p16 = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(xq, wq));
          const __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
          acc[t] = _mm256_fmadd_ps(p, _mm256_set1_ps(dx[tt * G + g] * half[s]), acc[t]);
        }
      }
      for (size_t t = 0; t < nt; ++t) {
        const float v = hsum(acc[t]);
        y[(t0 + t) * ldy + r] = bias != nullptr ? v + bias[r] : v;
      }
    }
  }
}

// BF16 to float without a shuffle: a 256-bit load of 16 weights holds
// element 2j in the low and 2j+1 in the high half of 32-bit lane j, so a
// shift gives the even elements and a mask the odd ones (one uop per 8
// weights). The activations are permuted to match once per call: each group
// of 16 becomes its 8 even elements, then its 8 odd ones.
void permute_even_odd(const float* x, size_t ldx, size_t n_tok, size_t nv, float* xp) {
  for (size_t t = 0; t < n_tok; ++t) {
    const float* xt = x + t * ldx;
    float* pt = xp + t * nv;
    for (size_t i = 0; i < nv; i += 16) {
      for (size_t j = 0; j < 8; ++j) {
        pt[i + j] = xt[i + 2 * j];
        pt[i + 8 + j] = xt[i + 2 * j + 1];
      }
    }
  }
}

// NR rows (at w, w + ldw, ...) against NT tokens over `len` inputs (a
// multiple of 16), the activations permuted (above), token t at xp + t * ldp:
// each weight is converted once for all NT tokens, each activation is used
// by NR rows, and 3 x 4 accumulators keep both FMA pipes busy (each
// gets an even and an odd FMA per step). A row's weights are widened to both
// halves at once, so no weight vector stays live across rows (keeping three
// made GCC spill one: 54 against 68 GFLOP/s in L1 at 8 tokens). Prefetches
// the next NR rows when asked (during the first token tile).
template <size_t NR, size_t NT>
QUARRY_AVX2_FMA void bf16_rows(const float* xp, size_t ldp, size_t len, const uint16_t* w,
                               size_t ldw, bool prefetch, float* out) {
  const __m256i odd = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
  const char* next = reinterpret_cast<const char*>(w + NR * ldw);
  __m256 acc[NR][NT];
#pragma GCC unroll 4
  for (size_t r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (size_t t = 0; t < NT; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  for (size_t i = 0; i < len; i += 16) {
    if (prefetch && i % 32 == 0) {
#pragma GCC unroll 4
      for (size_t r = 0; r < NR; ++r) _mm_prefetch(next + 2 * (r * ldw + i), _MM_HINT_T0);
    }
#pragma GCC unroll 4
    for (size_t r = 0; r < NR; ++r) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + r * ldw + i));
      const __m256 e = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
      const __m256 o = _mm256_castsi256_ps(_mm256_and_si256(v, odd));
#pragma GCC unroll 4
      for (size_t t = 0; t < NT; ++t) {
        acc[r][t] = _mm256_fmadd_ps(_mm256_loadu_ps(xp + t * ldp + i), e, acc[r][t]);
        acc[r][t] = _mm256_fmadd_ps(_mm256_loadu_ps(xp + t * ldp + i + 8), o, acc[r][t]);
      }
    }
  }
#pragma GCC unroll 4
  for (size_t r = 0; r < NR; ++r) {
#pragma GCC unroll 4
    for (size_t t = 0; t < NT; ++t) out[t * NR + r] = hsum(acc[r][t]);
  }
}

// Rows [r, r + NR) for every token, tiles of up to 4 tokens; out is [t][NR].
template <size_t NR>
QUARRY_AVX2_FMA void bf16_row_group(const float* xp, size_t ldp, size_t n_tok, size_t len,
                                    const uint16_t* w, size_t ldw, float* out) {
  for (size_t t0 = 0; t0 < n_tok; t0 += kTokTile) {
    const float* pt = xp + t0 * ldp;
    float* o = out + t0 * NR;
    const bool pf = t0 == 0;
    switch (std::min(kTokTile, n_tok - t0)) {
      case 1:
        bf16_rows<NR, 1>(pt, ldp, len, w, ldw, pf, o);
        break;
      case 2:
        bf16_rows<NR, 2>(pt, ldp, len, w, ldw, pf, o);
        break;
      case 3:
        bf16_rows<NR, 3>(pt, ldp, len, w, ldw, pf, o);
        break;
      default:
        bf16_rows<NR, 4>(pt, ldp, len, w, ldw, pf, o);
    }
  }
}

}  // namespace

void matmul_bf16_rows(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                      const float* bias, float* y, size_t ldy) {
  constexpr size_t kRows = 3;
  const size_t n = w.d_in, nv = n / 16 * 16, ldw = w.row_stride;
  // The permuted activations start on a cache line (so do their rows: nv is
  // a multiple of 16), so no load of them splits across two lines.
  thread_local std::vector<float> xbuf, outs;
  xbuf.resize(n_tok * nv + 16);
  outs.resize(n_tok * kRows);
  float* xp = xbuf.data() + (16 - reinterpret_cast<uintptr_t>(xbuf.data()) / 4 % 16) % 16;
  permute_even_odd(x, ldx, n_tok, nv, xp);
  const auto* w0 = static_cast<const uint16_t*>(w.data);
  float* out = outs.data();
  for (size_t r = 0; r < w.n_rows; r += kRows) {
    const size_t nr = std::min(kRows, w.n_rows - r);
    const uint16_t* wr = w0 + r * ldw;
    if (nr == 3) {
      bf16_row_group<3>(xp, nv, n_tok, nv, wr, ldw, out);
    } else if (nr == 2) {
      bf16_row_group<2>(xp, nv, n_tok, nv, wr, ldw, out);
    } else {
      bf16_row_group<1>(xp, nv, n_tok, nv, wr, ldw, out);
    }
    for (size_t t = 0; t < n_tok; ++t) {
      for (size_t k = 0; k < nr; ++k) {
        // The inputs past the last multiple of 16, then the bias.
        float v = out[t * nr + k];
        for (size_t i = nv; i < n; ++i) v += x[t * ldx + i] * bf16_to_f32(wr[k * ldw + i]);
        y[t * ldy + r + k] = bias != nullptr ? v + bias[r + k] : v;
      }
    }
  }
}

namespace {

// Dense BF16 with FMA (no exact order): row triples for up to 15 tokens
// (one token in decode is bound by memory, several by the FMAs), the float
// GEMM for more.
void matmul_bf16_fma(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                     const float* bias, float* y, size_t ldy) {
  if (n_tok >= kGemmBf16) return matmul_bf16_gemm(x, ldx, n_tok, w, bias, y, ldy);
  matmul_bf16_rows(x, ldx, n_tok, w, bias, y, ldy);
}

// Q8 weights: the exact kernel (int8 activations) for few tokens, the float
// GEMM (float activations) for many. (A row-pair kernel in float, as for
// BF16, measured slower than the int8 one at 8 tokens.)
void matmul_q8(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w, const float* bias,
               float* y, size_t ldy) {
  if (n_tok >= kGemmQ8) return matmul_q8_gemm(x, ldx, n_tok, w, bias, y, ldy);
  matmul_f32_q8w(x, ldx, n_tok, w, bias, y, ldy);
}

Ops make_fast_ops() {
  Ops o = ops();
  o.isa = "avx2_fast";
  o.exact = false;
  o.moe_matmul_f32_mxfp4w = moe_matmul_q8;
  o.matmul_f32_bf16w = matmul_bf16_fma;
  o.matmul_f32_q8w = matmul_q8;
  o.attention_sink_swa_f32 = attention_fast;
  return o;
}

}  // namespace

bool fast_supported() { return supported() && __builtin_cpu_supports("fma"); }

const Ops& fast_ops() {
  static const Ops o = make_fast_ops();
  return o;
}

}  // namespace quarry::kernels::avx2
