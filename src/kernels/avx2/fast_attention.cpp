// `avx2_fast` attention: the same flash-style walk over the paged KV cache as
// attention.cpp (8 keys per chunk in the lanes, K transposed once per chunk
// and KV head), but the softmax update is per chunk instead of per key: the
// chunk's maximum rescales the running sum once, the 8 weights come from one
// vector exp (a polynomial, relative error about 2e-7), and the values are
// accumulated with FMAs, the accumulator loaded and stored once per chunk.
// Not exact: another summation order, FMA, the polynomial exp.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/avx2/avx2_kernels.h"

#define QUARRY_AVX2_FMA __attribute__((target("avx2,fma,f16c")))

namespace quarry::kernels::avx2 {
namespace {

constexpr size_t kKeys = 8;

// exp(x) for x <= 0 (larger x is not asked for): 2^n * p(r) with
// x = n ln2 + r, |r| <= ln2 / 2, p a degree-6 Taylor polynomial; below -87
// the result is 0.
QUARRY_AVX2_FMA inline __m256 exp_nonpositive(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.0f);
  const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(x, lo);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x - n ln2, ln2 in two parts so that n ln2 is exact enough.
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

QUARRY_AVX2_FMA inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

QUARRY_AVX2_FMA inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// acc = acc * c + sum over the chunk's 8 keys of p[j] v[j], over d floats
// (p is 0 for lanes past the last key, whose rows repeat the last one).
QUARRY_AVX2_FMA void accumulate(float* acc, float c, const float* p, const float* const* v,
                                size_t d) {
  const __m256 cv = _mm256_set1_ps(c);
  __m256 pj[kKeys];
#pragma GCC unroll 8
  for (size_t j = 0; j < kKeys; ++j) pj[j] = _mm256_set1_ps(p[j]);
  size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    __m256 a = _mm256_mul_ps(_mm256_loadu_ps(acc + i), cv);
#pragma GCC unroll 8
    for (size_t j = 0; j < kKeys; ++j) a = _mm256_fmadd_ps(pj[j], _mm256_loadu_ps(v[j] + i), a);
    _mm256_storeu_ps(acc + i, a);
  }
  for (; i < d; ++i) {
    float a = acc[i] * c;
    for (size_t j = 0; j < kKeys; ++j) a += p[j] * v[j][i];
    acc[i] = a;
  }
}

}  // namespace

QUARRY_AVX2_FMA void attention_fast(const float* q, const KvLayerView& kv, size_t pos,
                                    const float* sinks, const AttentionShape& shape,
                                    size_t head_begin, size_t head_end, float* out) {
  const size_t d = shape.d_head;
  const size_t group = shape.n_head / shape.n_kv_head;
  const size_t t_begin = (shape.window > 0 && pos + 1 > shape.window) ? pos + 1 - shape.window : 0;
  thread_local std::vector<float> kt, m, l;
  kt.resize(d * kKeys);
  m.resize(shape.n_head);
  l.resize(shape.n_head);
  for (size_t h = head_begin; h < head_end; ++h) {
    std::fill(out + h * d, out + (h + 1) * d, 0.0f);
    m[h] = sinks[h];  // the sink counts as a score with weight exp(sink - m)
    l[h] = 1.0f;
  }
  const __m256 scale = _mm256_set1_ps(shape.scale);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  alignas(32) float p[kKeys];
  // Chunks outer, KV heads inner: each cached row is read once, whole.
  for (size_t t0 = t_begin; t0 <= pos; t0 += kKeys) {
    const size_t nk = std::min(kKeys, pos + 1 - t0);
    size_t rows[kKeys];
    for (size_t j = 0; j < kKeys; ++j)
      rows[j] = kv.row_offset(t0 + std::min(j, nk - 1));  // pad: repeat
    for (size_t g = head_begin / group; g * group < head_end; ++g) {
      const size_t h0 = std::max(head_begin, g * group), h1 = std::min(head_end, (g + 1) * group);
      const float* k[kKeys];
      const float* v[kKeys];
      for (size_t j = 0; j < kKeys; ++j) {
        k[j] = kv.k + rows[j] + g * d;
        v[j] = kv.v + rows[j] + g * d;
      }
      size_t i = 0;
      for (; i + 8 <= d; i += 8) transpose8(k, i, kt.data() + i * kKeys);
      for (; i < d; ++i) {
        for (size_t j = 0; j < kKeys; ++j) kt[i * kKeys + j] = k[j][i];
      }
      // Lanes past the chunk's last key score -inf.
      const __m256 valid =
          _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(nk)), lane));
      // The group's query heads, up to 8 at a time: their dot products are
      // independent chains over the transposed keys.
      for (size_t hb = h0; hb < h1; hb += kKeys) {
        const size_t nh = std::min(kKeys, h1 - hb);
        // Always 8 chains (a partial batch repeats its last head) so that
        // they stay in registers.
        const float* qj[kKeys];
        for (size_t j = 0; j < kKeys; ++j) qj[j] = q + (hb + std::min(j, nh - 1)) * d;
        __m256 dot[kKeys];
#pragma GCC unroll 8
        for (size_t j = 0; j < kKeys; ++j) dot[j] = _mm256_setzero_ps();
        for (size_t e = 0; e < d; ++e) {
          const __m256 ke = _mm256_loadu_ps(kt.data() + e * kKeys);
#pragma GCC unroll 8
          for (size_t j = 0; j < kKeys; ++j) {
            dot[j] = _mm256_fmadd_ps(_mm256_set1_ps(qj[j][e]), ke, dot[j]);
          }
        }
        for (size_t j = 0; j < nh; ++j) {
          const size_t h = hb + j;
          const __m256 s =
              _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_mul_ps(dot[j], scale), valid);
          const float m_new = std::max(m[h], hmax(s));
          const float c = m_new > m[h] ? std::exp(m[h] - m_new) : 1.0f;
          const __m256 pv = exp_nonpositive(_mm256_sub_ps(s, _mm256_set1_ps(m_new)));
          _mm256_store_ps(p, pv);
          l[h] = l[h] * c + hsum(pv);
          m[h] = m_new;
          accumulate(out + h * d, c, p, v, d);
        }
      }
    }
  }
  for (size_t h = head_begin; h < head_end; ++h) {
    const float inv = 1.0f / l[h];
    float* acc = out + h * d;
    for (size_t i = 0; i < d; ++i) acc[i] *= inv;
  }
}

}  // namespace quarry::kernels::avx2
