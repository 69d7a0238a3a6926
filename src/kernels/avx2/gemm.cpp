// `avx2_fast` matmuls for many tokens (prefill, batched decode) as a float
// GEMM: weights decoded to f32 48 rows at a time (MXFP4: the E2M1 value times
// the block scale, exact; BF16: a shift; Q8: code times scale), activations
// transposed once per call into tiles of 16 tokens, and a 6-row x 16-token
// register tile of FMAs over panels of 256 inputs (a token tile's panel stays
// in L1 while the block's row groups use it). Per input: two vector loads of
// activations, six broadcasts and twelve FMAs for 96 multiply-adds, so the
// FMA units, not the loads or the int8 bookkeeping, set the pace. The
// activations stay float: more accurate than the int8 path it replaces.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/avx2/avx2_kernels.h"

#define QUARRY_AVX2_FMA __attribute__((target("avx2,fma,f16c")))

namespace quarry::kernels::avx2 {
namespace {

constexpr size_t kRows = 6;   // weight rows per register tile
constexpr size_t kToks = 16;  // tokens per activation tile (two vectors)

// x [n_tok][ldx] -> xt [tile][k][16], zero past the last token.
void transpose_tokens(const float* x, size_t ldx, size_t n_tok, size_t K, std::vector<float>& xt) {
  const size_t n_tiles = (n_tok + kToks - 1) / kToks;
  xt.assign(n_tiles * K * kToks, 0.0f);
  for (size_t t = 0; t < n_tok; ++t) {
    float* dst = xt.data() + (t / kToks) * K * kToks + t % kToks;
    const float* src = x + t * ldx;
    for (size_t k = 0; k < K; ++k) dst[k * kToks] = src[k];
  }
}

// Row r of an MXFP4 matrix as floats.
QUARRY_AVX2_FMA void decode_mxfp4_row(const Mxfp4Matrix& w, size_t r, float* out) {
  const __m128i lut = _mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
  const __m128i mask = _mm_set1_epi8(0x0F);
  const float* half = half_scales();
  const uint8_t* row = w.codes + r * w.codes_row_stride;
  const bool hf = w.layout == Mxfp4Layout::kHF;
  for (size_t g = 0; g < w.n_blocks(); ++g) {
    __m128i bytes;
    std::memcpy(&bytes, hf ? row + g * 16 : row + g * 17 + 1, 16);
    const uint8_t s = hf ? w.scales[r * w.scales_row_stride + g] : row[g * 17];
    const __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(bytes, mask));
    const __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(bytes, 4), mask));
    // Element order: HF interleaves low and high nibbles, GGML puts the low
    // nibbles first.
    const __m128i v0 = hf ? _mm_unpacklo_epi8(lo, hi) : lo;
    const __m128i v1 = hf ? _mm_unpackhi_epi8(lo, hi) : hi;
    const __m256 scale = _mm256_set1_ps(half[s]);
    float* o = out + g * 32;
    _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v0)), scale));
    _mm256_storeu_ps(
        o + 8,
        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(v0, 8))), scale));
    _mm256_storeu_ps(o + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v1)), scale));
    _mm256_storeu_ps(
        o + 24,
        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(v1, 8))), scale));
  }
}

// Row r of a BF16 matrix as floats.
QUARRY_AVX2_FMA void decode_bf16_row(const DenseMatrix& w, size_t r, float* out) {
  const auto* h = reinterpret_cast<const uint16_t*>(w.row_ptr(r));
  size_t i = 0;
  for (; i + 8 <= w.d_in; i += 8) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i));
    _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16)));
  }
  for (; i < w.d_in; ++i) {
    const uint32_t u = static_cast<uint32_t>(h[i]) << 16;
    std::memcpy(out + i, &u, 4);
  }
}

// Row r of a Q8 matrix as floats: each block's codes times its scale.
QUARRY_AVX2_FMA void decode_q8_row(const DenseMatrix& w, size_t r, float* out) {
  const auto* q = reinterpret_cast<const int8_t*>(w.row_ptr(r));
  const float* s = w.scales + r * w.scales_row_stride;
  for (size_t g = 0; g < w.d_in / 32; ++g) {
    const __m256 scale = _mm256_set1_ps(s[g]);
    for (size_t i = g * 32; i < g * 32 + 32; i += 8) {
      const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i));
      _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)), scale));
    }
  }
}

// c[i][8 v ..] += sum over k < kc of w[i][k] * xt[k][8 v ..] for NR rows
// (w rows ldw apart) and NV vectors of 8 tokens (c rows ldc apart).
template <size_t NR, size_t NV>
QUARRY_AVX2_FMA void micro(const float* w, size_t ldw, size_t kc, const float* xt, float* c,
                           size_t ldc) {
  // Fully unrolled, so that the accumulators live in registers (GCC otherwise
  // keeps the array in memory and stores it every step).
  __m256 acc[NR][NV];
#pragma GCC unroll 8
  for (size_t i = 0; i < NR; ++i) {
#pragma GCC unroll 2
    for (size_t v = 0; v < NV; ++v) acc[i][v] = _mm256_loadu_ps(c + i * ldc + 8 * v);
  }
  for (size_t k = 0; k < kc; ++k) {
    __m256 xv[NV];
#pragma GCC unroll 2
    for (size_t v = 0; v < NV; ++v) xv[v] = _mm256_loadu_ps(xt + k * kToks + 8 * v);
#pragma GCC unroll 8
    for (size_t i = 0; i < NR; ++i) {
      const __m256 wb = _mm256_broadcast_ss(w + i * ldw + k);
#pragma GCC unroll 2
      for (size_t v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(wb, xv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 8
  for (size_t i = 0; i < NR; ++i) {
#pragma GCC unroll 2
    for (size_t v = 0; v < NV; ++v) _mm256_storeu_ps(c + i * ldc + 8 * v, acc[i][v]);
  }
}

constexpr size_t kBlockRows = 8 * kRows;  // rows decoded at a time (L2)
constexpr size_t kPanel = 256;            // inputs per pass: a token tile's panel stays in L1

// The GEMM over rows decoded by decode(r, out).
template <class Decode>
void gemm(const float* x, size_t ldx, size_t n_tok, size_t n_rows, size_t K, Decode decode,
          const float* bias, float* y, size_t ldy) {
  thread_local std::vector<float> xt, wbuf, cbuf;
  transpose_tokens(x, ldx, n_tok, K, xt);
  const size_t n_tiles = (n_tok + kToks - 1) / kToks, ldc = n_tiles * kToks;
  wbuf.assign(kBlockRows * K, 0.0f);
  for (size_t r0 = 0; r0 < n_rows; r0 += kBlockRows) {
    const size_t nr = std::min(kBlockRows, n_rows - r0);
    const size_t groups = (nr + kRows - 1) / kRows;
    for (size_t i = 0; i < nr; ++i) decode(r0 + i, wbuf.data() + i * K);
    cbuf.assign(groups * kRows * ldc, 0.0f);
    for (size_t k0 = 0; k0 < K; k0 += kPanel) {
      const size_t kc = std::min(kPanel, K - k0);
      for (size_t j = 0; j < n_tiles; ++j) {
        const float* panel = xt.data() + (j * K + k0) * kToks;
        // A last tile of at most 8 tokens computes one vector of them.
        const bool one = n_tok - j * kToks <= 8;
        for (size_t g = 0; g < groups; ++g) {
          const float* w = wbuf.data() + g * kRows * K + k0;
          float* c = cbuf.data() + g * kRows * ldc + j * kToks;
          if (one) {
            micro<kRows, 1>(w, K, kc, panel, c, ldc);
          } else {
            micro<kRows, 2>(w, K, kc, panel, c, ldc);
          }
        }
      }
    }
    for (size_t i = 0; i < nr; ++i) {
      const float b = bias != nullptr ? bias[r0 + i] : 0.0f;
      for (size_t t = 0; t < n_tok; ++t) y[t * ldy + r0 + i] = cbuf[i * ldc + t] + b;
    }
  }
}

}  // namespace

void moe_matmul_gemm(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w,
                     const float* bias, float* y, size_t ldy) {
  gemm(
      x, ldx, n_tok, w.n_rows, w.d_in, [&](size_t r, float* out) { decode_mxfp4_row(w, r, out); },
      bias, y, ldy);
}

void matmul_bf16_gemm(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                      const float* bias, float* y, size_t ldy) {
  gemm(
      x, ldx, n_tok, w.n_rows, w.d_in, [&](size_t r, float* out) { decode_bf16_row(w, r, out); },
      bias, y, ldy);
}

void matmul_q8_gemm(const float* x, size_t ldx, size_t n_tok, const DenseMatrix& w,
                    const float* bias, float* y, size_t ldy) {
  gemm(
      x, ldx, n_tok, w.n_rows, w.d_in, [&](size_t r, float* out) { decode_q8_row(w, r, out); },
      bias, y, ldy);
}

}  // namespace quarry::kernels::avx2
