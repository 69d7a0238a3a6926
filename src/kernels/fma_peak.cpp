#include "kernels/fma_peak.h"

#include <immintrin.h>

namespace quarry::kernels {
namespace {

// Enough independent chains to cover the FMA latency on both pipes (4 cycles
// x 2 pipes on current x86 cores), as many as the registers allow.
constexpr int kChainsAvx2 = 12, kChainsAvx512 = 24;

volatile float g_sink;  // keeps the chains' results observable

__attribute__((target("avx2,fma"))) uint64_t burst_avx2(uint64_t rounds) {
  __m256 a[kChainsAvx2];
  for (int i = 0; i < kChainsAvx2; ++i) a[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  const __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-4f);
  for (uint64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < kChainsAvx2; ++i) a[i] = _mm256_fmadd_ps(a[i], b, c);
  }
  __m256 s = a[0];
  for (int i = 1; i < kChainsAvx2; ++i) s = _mm256_add_ps(s, a[i]);
  g_sink = _mm256_cvtss_f32(s);
  return rounds * kChainsAvx2 * 8;
}

__attribute__((target("avx512f"))) uint64_t burst_avx512(uint64_t rounds) {
  __m512 a[kChainsAvx512];
  for (int i = 0; i < kChainsAvx512; ++i) a[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 b = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-4f);
  for (uint64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 24
    for (int i = 0; i < kChainsAvx512; ++i) a[i] = _mm512_fmadd_ps(a[i], b, c);
  }
  __m512 s = a[0];
  for (int i = 1; i < kChainsAvx512; ++i) s = _mm512_add_ps(s, a[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  g_sink = lanes[0];
  return rounds * kChainsAvx512 * 16;
}

}  // namespace

size_t fma_lanes() {
  if (__builtin_cpu_supports("avx512f")) return 16;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 8;
  return 0;
}

uint64_t fma_burst(uint64_t rounds) {
  switch (fma_lanes()) {
    case 16:
      return burst_avx512(rounds);
    case 8:
      return burst_avx2(rounds);
    default:
      return 0;
  }
}

}  // namespace quarry::kernels
