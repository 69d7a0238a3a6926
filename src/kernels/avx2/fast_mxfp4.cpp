// The `avx2_fast` MXFP4 expert matmul: activations quantized to int8 per block
// of 32 (scale amax/127, as llama.cpp's Q8_0), weights decoded two blocks at
// a time into one 256-bit vector of int8 and multiplied by maddubs.
//
// Two blocks' 32 code bytes hold 64 nibbles; masking and shifting split them
// into a "low nibble" and a "high nibble" vector, each half from one block.
// The activations are laid out once per call in that same order (which
// elements a low nibble holds depends on the layout: element j in the GGML
// block, element 2j in the HF block), so no shuffle of weights is needed.
// maddubs multiplies unsigned by signed bytes: the lookup table gives the
// doubled E2M1 value plus 12 (0..24), and 12 * sum(x) per block is taken off
// the integer dot afterwards. One FMA per block pair and row adds
// float(dot) * x_scale * w_scale into 8 lanes (4 per block).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/avx2/avx2_kernels.h"
#include "kernels/numeric.h"

#define QUARRY_AVX2_FMA __attribute__((target("avx2,fma,f16c")))

namespace quarry::kernels::avx2 {
namespace {

constexpr int kOffset = 12;  // added to the doubled E2M1 values to make them unsigned

// One token's activations for n_pairs block pairs, in nibble order.
struct PairActs {
  std::vector<int8_t> q;      // [pair][64]: low-nibble 32 bytes, then high-nibble 32
  std::vector<int32_t> corr;  // [pair][8]: 12 * sum(q of the block) in lanes 0 and 4
  std::vector<float> d;       // [pair][8]: the two blocks' scales, 4 lanes each
  // The same per group of 4 tokens ([group][pair][8]) in the lane order of
  // the packed tiles (tile_packed): lane h*4 + j holds block h of token j
  // (corr4, d4), or, for the group's first two tokens, lanes h*4 + 2j and
  // h*4 + 2j + 1 the two halves of block h of token j (corr2 in the first,
  // d2 in both).
  std::vector<int32_t> corr4, corr2;
  std::vector<float> d4, d2;
};

// Tokens' activations for the pair kernel, [t][pair] in each array.
void prepare(const float* x, size_t ldx, size_t n_tok, size_t n_pairs, Mxfp4Layout layout,
             PairActs& a) {
  const size_t n_groups = (n_tok + 3) / 4;
  a.q.resize(n_tok * n_pairs * 64);
  a.corr.assign(n_tok * n_pairs * 8, 0);
  a.d.resize(n_tok * n_pairs * 8);
  if (n_tok > 1) {
    a.corr4.assign(n_groups * n_pairs * 8, 0);
    a.corr2.assign(n_groups * n_pairs * 8, 0);
    a.d4.assign(n_groups * n_pairs * 8, 0.0f);
    a.d2.assign(n_groups * n_pairs * 8, 0.0f);
  }
  thread_local std::vector<int8_t> qs;
  thread_local std::vector<float> ds;
  qs.resize(n_pairs * 64);
  ds.resize(n_pairs * 2);
  for (size_t t = 0; t < n_tok; ++t) {
    quantize_q8_blocks(x + t * ldx, 2 * n_pairs, qs.data(), ds.data());
    for (size_t p = 0; p < n_pairs; ++p) {
      const size_t at = t * n_pairs + p;
      for (size_t h = 0; h < 2; ++h) {  // the block's half of the pair
        const int8_t* q = qs.data() + (2 * p + h) * 32;
        const float d = ds[2 * p + h];
        int32_t sum = 0;
        for (int j = 0; j < 16; ++j) {
          // Byte j of the block: its low nibble, then its high nibble.
          const int lo = layout == Mxfp4Layout::kGgml ? j : 2 * j;
          const int hi = layout == Mxfp4Layout::kGgml ? j + 16 : 2 * j + 1;
          a.q[at * 64 + h * 16 + j] = q[lo];
          a.q[at * 64 + 32 + h * 16 + j] = q[hi];
          sum += q[lo] + q[hi];
        }
        a.corr[at * 8 + h * 4] = kOffset * sum;
        for (int k = 0; k < 4; ++k) a.d[at * 8 + h * 4 + k] = d;
        if (n_tok > 1) {
          const size_t g = (t / 4 * n_pairs + p) * 8 + h * 4, j = t % 4;
          a.corr4[g + j] = kOffset * sum;
          a.d4[g + j] = d;
          if (j < 2) {
            a.corr2[g + 2 * j] = kOffset * sum;
            a.d2[g + 2 * j] = a.d2[g + 2 * j + 1] = d;
          }
        }
      }
    }
  }
}

template <bool kHF>
struct Rows {
  const Mxfp4Matrix& w;
  // The 32 code bytes of blocks 2p and 2p+1 of row r.
  QUARRY_AVX2_FMA __m256i codes(size_t r, size_t p) const {
    const uint8_t* row = w.codes + r * w.codes_row_stride;
    if constexpr (kHF) {
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + p * 32));
    } else {
      return _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(row + (2 * p + 1) * 17 + 1),
                                 reinterpret_cast<const __m128i*>(row + 2 * p * 17 + 1));
    }
  }
  // The scale byte of block b of row r.
  uint8_t scale(size_t r, size_t b) const {
    if constexpr (kHF) return w.scales[r * w.scales_row_stride + b];
    return w.codes[r * w.codes_row_stride + b * 17];
  }
  // The two blocks' weight scales, 4 lanes each.
  QUARRY_AVX2_FMA __m256 scales(size_t r, size_t p, const float* half) const {
    return _mm256_set_m128(_mm_set1_ps(half[scale(r, 2 * p + 1)]),
                           _mm_set1_ps(half[scale(r, 2 * p)]));
  }
};

// The weights stream from memory: while a group of rows is computed for its
// first token tile, the next group's bytes are prefetched, a few cache lines
// per pair (later token tiles find the group in cache).
template <bool kHF>
struct NextRows {
  const char* codes;
  const char* scales = nullptr;
  size_t len, lines_per_pair, scales_len = 0, done = 0;
  NextRows(const Mxfp4Matrix& w, size_t r0, size_t nr, size_t n_pairs, bool first) {
    const size_t next_rows = first ? w.n_rows - std::min(w.n_rows, r0 + nr) : 0;
    codes = reinterpret_cast<const char*>(w.codes + (r0 + nr) * w.codes_row_stride);
    len = std::min(nr, next_rows) * w.codes_row_stride;
    lines_per_pair = (len + 64 * n_pairs - 1) / (64 * n_pairs);
    if (kHF) {
      scales = reinterpret_cast<const char*>(w.scales + (r0 + nr) * w.scales_row_stride);
      scales_len = std::min(nr, next_rows) * w.scales_row_stride;
    }
  }
  void fetch(size_t p) {
    for (size_t k = 0; k < lines_per_pair && done < len; ++k, done += 64) {
      _mm_prefetch(codes + done, _MM_HINT_T0);
    }
    if (kHF && p * 64 < scales_len) _mm_prefetch(scales + p * 64, _MM_HINT_T0);
  }
};

// Rows [r0, r0 + NR) for tokens [t0, t0 + NT).
template <size_t NT, size_t NR, bool kHF>
QUARRY_AVX2_FMA void tile(const PairActs& a, size_t n_pairs, const Rows<kHF>& rows, size_t r0,
                          size_t t0, const float* bias, float* y, size_t ldy) {
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i lut = _mm256_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0,
                                       12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0);
  const __m256i ones = _mm256_set1_epi16(1);
  const float* half = half_scales();
  __m256 acc[NR][NT];
  for (size_t k = 0; k < NR; ++k) {
    for (size_t t = 0; t < NT; ++t) acc[k][t] = _mm256_setzero_ps();
  }
  NextRows<kHF> next(rows.w, r0, NR, n_pairs, t0 == 0);
  for (size_t p = 0; p < n_pairs; ++p) {
    next.fetch(p);
    for (size_t k = 0; k < NR; ++k) {
      const __m256i c = rows.codes(r0 + k, p);
      const __m256i wlo = _mm256_shuffle_epi8(lut, _mm256_and_si256(c, mask));
      const __m256i whi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(c, 4), mask));
      const __m256 sw = rows.scales(r0 + k, p, half);
      for (size_t t = 0; t < NT; ++t) {
        const size_t at = (t0 + t) * n_pairs + p;
        const int8_t* xq = a.q.data() + at * 64;
        const __m256i xlo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
        const __m256i xhi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32));
        // |(w + 12) x| <= 24 * 127 per byte pair: no saturation, even summed.
        const __m256i p16 =
            _mm256_add_epi16(_mm256_maddubs_epi16(wlo, xlo), _mm256_maddubs_epi16(whi, xhi));
        const __m256i dot = _mm256_sub_epi32(
            _mm256_madd_epi16(p16, ones),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.corr.data() + at * 8)));
        const __m256 scale = _mm256_mul_ps(sw, _mm256_loadu_ps(a.d.data() + at * 8));
        acc[k][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[k][t]);
      }
    }
  }
  for (size_t k = 0; k < NR; ++k) {
    for (size_t t = 0; t < NT; ++t) {
      __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[k][t]), _mm256_extractf128_ps(acc[k][t], 1));
      s = _mm_add_ps(s, _mm_movehl_ps(s, s));
      s = _mm_add_ss(s, _mm_movehdup_ps(s));
      const float v = _mm_cvtss_f32(s);
      y[(t0 + t) * ldy + r0 + k] = bias != nullptr ? v + bias[r0 + k] : v;
    }
  }
}

// Rows [r0, r0 + 4) for NT = 4 or 2 tokens from t0 (a multiple of 4) with
// the tokens packed into one vector per row: each token's dot (4 partial
// sums per block) is folded by hadd with the others', so the correction,
// the conversion, the scale and the FMA are one instruction each for all NT
// tokens instead of one per token. The accumulator holds block h of token j
// in lane h*4 + j (NT = 4), or its halves in lanes h*4 + 2j and h*4 + 2j + 1
// (NT = 2).
template <size_t NT, bool kHF>
QUARRY_AVX2_FMA void tile_packed(const PairActs& a, size_t n_pairs, const Rows<kHF>& rows,
                                 size_t r0, size_t t0, const float* bias, float* y, size_t ldy) {
  static_assert(NT == 4 || NT == 2);
  constexpr size_t NR = 4;
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i lut = _mm256_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0,
                                       12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0);
  const __m256i ones = _mm256_set1_epi16(1);
  const float* half = half_scales();
  const size_t group = (t0 / 4 * n_pairs) * 8;
  const int32_t* corr = (NT == 4 ? a.corr4 : a.corr2).data() + group;
  const float* dx = (NT == 4 ? a.d4 : a.d2).data() + group;
  __m256 acc[NR];
  for (size_t k = 0; k < NR; ++k) acc[k] = _mm256_setzero_ps();
  NextRows<kHF> next(rows.w, r0, NR, n_pairs, t0 == 0);
  for (size_t p = 0; p < n_pairs; ++p) {
    next.fetch(p);
    const __m256i c8 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr + p * 8));
    const __m256 d8 = _mm256_loadu_ps(dx + p * 8);
    for (size_t k = 0; k < NR; ++k) {
      const __m256i c = rows.codes(r0 + k, p);
      const __m256i wlo = _mm256_shuffle_epi8(lut, _mm256_and_si256(c, mask));
      const __m256i whi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(c, 4), mask));
      __m256i dot[NT];
      for (size_t t = 0; t < NT; ++t) {
        const int8_t* xq = a.q.data() + ((t0 + t) * n_pairs + p) * 64;
        const __m256i xlo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq));
        const __m256i xhi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32));
        dot[t] = _mm256_madd_epi16(
            _mm256_add_epi16(_mm256_maddubs_epi16(wlo, xlo), _mm256_maddubs_epi16(whi, xhi)), ones);
      }
      __m256i h = _mm256_hadd_epi32(dot[0], dot[1]);
      if constexpr (NT == 4) h = _mm256_hadd_epi32(h, _mm256_hadd_epi32(dot[2], dot[3]));
      const __m256 scale = _mm256_mul_ps(rows.scales(r0 + k, p, half), d8);
      acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(h, c8)), scale, acc[k]);
    }
  }
  for (size_t k = 0; k < NR; ++k) {
    alignas(16) float s[4];
    _mm_store_ps(s, _mm_add_ps(_mm256_castps256_ps128(acc[k]), _mm256_extractf128_ps(acc[k], 1)));
    const float b = bias != nullptr ? bias[r0 + k] : 0.0f;
    for (size_t t = 0; t < NT; ++t) {
      const float v = NT == 4 ? s[t] : s[2 * t] + s[2 * t + 1];
      y[(t0 + t) * ldy + r0 + k] = bias != nullptr ? v + b : v;
    }
  }
}

// Tokens [t0, n_tok) for rows [r0, r0 + NR): token tiles of up to 4.
template <size_t NR, bool kHF>
QUARRY_AVX2_FMA void row_group(const PairActs& a, size_t n_pairs, size_t n_tok,
                               const Rows<kHF>& rows, size_t r0, const float* bias, float* y,
                               size_t ldy) {
  size_t t0 = 0;
  for (; t0 + 4 <= n_tok; t0 += 4) tile<4, NR, kHF>(a, n_pairs, rows, r0, t0, bias, y, ldy);
  switch (n_tok - t0) {
    case 3:
      return tile<3, NR, kHF>(a, n_pairs, rows, r0, t0, bias, y, ldy);
    case 2:
      return tile<2, NR, kHF>(a, n_pairs, rows, r0, t0, bias, y, ldy);
    case 1:
      return tile<1, NR, kHF>(a, n_pairs, rows, r0, t0, bias, y, ldy);
    default:
      return;
  }
}

template <bool kHF>
QUARRY_AVX2_FMA void run(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w,
                         const float* bias, float* y, size_t ldy) {
  const size_t n_pairs = w.n_blocks() / 2;
  thread_local PairActs a;
  prepare(x, ldx, n_tok, n_pairs, w.layout, a);
  const Rows<kHF> rows{w};
  const size_t n = w.n_rows;
  size_t r = 0;
  if (n_tok == 1) {
    // Decode reads each weight once: 4 rows per pass interleave their chains.
    for (; r + 4 <= n; r += 4) tile<1, 4, kHF>(a, n_pairs, rows, r, 0, bias, y, ldy);
  } else {
    // Rows outer, token tiles inner: 4 rows' codes stay in L1 while every
    // token tile uses them; packed tiles of 4 tokens, then the last 3 (plain:
    // a zero fourth token measured slower), 2 (packed) or 1.
    for (; r + 4 <= n; r += 4) {
      for (size_t t0 = 0; t0 < n_tok; t0 += 4) {
        const size_t left = n_tok - t0;
        if (left >= 4) {
          tile_packed<4, kHF>(a, n_pairs, rows, r, t0, bias, y, ldy);
        } else if (left == 3) {
          tile<3, 4, kHF>(a, n_pairs, rows, r, t0, bias, y, ldy);
        } else if (left == 2) {
          tile_packed<2, kHF>(a, n_pairs, rows, r, t0, bias, y, ldy);
        } else {
          tile<1, 4, kHF>(a, n_pairs, rows, r, t0, bias, y, ldy);
        }
      }
    }
  }
  for (; r < n; ++r) row_group<1, kHF>(a, n_pairs, n_tok, rows, r, bias, y, ldy);
}

}  // namespace

bool moe_matmul_q8_pairs(const float* x, size_t ldx, size_t n_tok, const Mxfp4Matrix& w,
                         const float* bias, float* y, size_t ldy) {
  if (w.n_blocks() % 2 != 0) return false;
  if (w.layout == Mxfp4Layout::kHF) {
    run<true>(x, ldx, n_tok, w, bias, y, ldy);
  } else {
    run<false>(x, ldx, n_tok, w, bias, y, ldy);
  }
  return true;
}

}  // namespace quarry::kernels::avx2
