// Attention with sinks over the paged KV cache, AVX2, bit-identical to
// ref/attention.cpp, flash-style: keys are taken 8 at a time (any positions:
// each row is found through the block table), so no score matrix exists.
//
// The reference sums each dot product q.k sequentially over the head's
// dimensions. Here the 8 keys of a chunk sit in the 8 lanes (their rows
// transposed once per chunk and KV head, then shared by the query heads of
// the group), so every lane performs exactly the reference's sequence of
// multiplies and adds. The online-softmax update then runs key by key in
// order, as in the reference (same branches, same std::exp), with the value
// accumulation vectorised over dimensions (a multiply then an add: no FMA).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/avx2/avx2_kernels.h"

#define QUARRY_AVX2 __attribute__((target("avx2")))

namespace quarry::kernels::avx2 {
namespace {

constexpr size_t kKeys = 8;

}  // namespace

QUARRY_AVX2 void transpose8(const float* const* rows, size_t i0, float* out) {
  __m256 r[8];
  for (size_t j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(rows[j] + i0);
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(out + 0, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(out + 32, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(out + 40, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(out + 48, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(out + 56, _mm256_permute2f128_ps(u3, u7, 0x31));
}

namespace {

// acc = acc * c + v over d floats.
QUARRY_AVX2 inline void scale_add(float* acc, float c, const float* v, size_t d) {
  const __m256 cv = _mm256_set1_ps(c);
  size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    const __m256 a = _mm256_mul_ps(_mm256_loadu_ps(acc + i), cv);
    _mm256_storeu_ps(acc + i, _mm256_add_ps(a, _mm256_loadu_ps(v + i)));
  }
  for (; i < d; ++i) acc[i] = acc[i] * c + v[i];
}

// acc += p * v over d floats.
QUARRY_AVX2 inline void add_scaled(float* acc, float p, const float* v, size_t d) {
  const __m256 pv = _mm256_set1_ps(p);
  size_t i = 0;
  for (; i + 8 <= d; i += 8) {
    const __m256 a = _mm256_mul_ps(pv, _mm256_loadu_ps(v + i));
    _mm256_storeu_ps(acc + i, _mm256_add_ps(_mm256_loadu_ps(acc + i), a));
  }
  for (; i < d; ++i) acc[i] += p * v[i];
}

}  // namespace

QUARRY_AVX2 void attention_sink_swa_f32(const float* q, const KvLayerView& kv, size_t pos,
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
    m[h] = sinks[h];
    l[h] = 1.0f;
  }
  const __m256 scale = _mm256_set1_ps(shape.scale);
  alignas(32) float s[kKeys];
  // KV heads touched by [head_begin, head_end), each with its query heads.
  for (size_t g = head_begin / group; g * group < head_end; ++g) {
    const size_t h0 = std::max(head_begin, g * group), h1 = std::min(head_end, (g + 1) * group);
    const size_t kv_off = g * d;
    for (size_t t0 = t_begin; t0 <= pos; t0 += kKeys) {
      const size_t nk = std::min(kKeys, pos + 1 - t0);
      const float* k[kKeys];
      const float* v[kKeys];
      for (size_t j = 0; j < kKeys; ++j) {
        const size_t row = kv.row_offset(t0 + std::min(j, nk - 1)) + kv_off;  // pad: repeat
        k[j] = kv.k + row;
        v[j] = kv.v + row;
      }
      size_t i = 0;
      for (; i + 8 <= d; i += 8) transpose8(k, i, kt.data() + i * kKeys);
      for (; i < d; ++i) {
        for (size_t j = 0; j < kKeys; ++j) kt[i * kKeys + j] = k[j][i];
      }
      for (size_t h = h0; h < h1; ++h) {
        const float* qh = q + h * d;
        __m256 dot = _mm256_setzero_ps();
        for (size_t e = 0; e < d; ++e) {
          dot = _mm256_add_ps(
              dot, _mm256_mul_ps(_mm256_set1_ps(qh[e]), _mm256_loadu_ps(kt.data() + e * kKeys)));
        }
        _mm256_store_ps(s, _mm256_mul_ps(dot, scale));
        float* acc = out + h * d;
        for (size_t j = 0; j < nk; ++j) {
          if (s[j] > m[h]) {
            const float corr = std::exp(m[h] - s[j]);
            l[h] = l[h] * corr + 1.0f;
            scale_add(acc, corr, v[j], d);
            m[h] = s[j];
          } else {
            const float p = std::exp(s[j] - m[h]);
            l[h] += p;
            add_scaled(acc, p, v[j], d);
          }
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
