// Helpers shared by the AVX-512 and AMX raw loops (avx512/raw.cpp,
// amx/raw.cpp) on SIMDe's 512-bit types. Every function is `static`: each raw
// file (built with its own flags, or portable) keeps its own copy, and no
// copy can be picked by the linker for code built without AVX-512.
#pragma once

#include <simde/x86/avx512.h>

#include <cstddef>
#include <cstring>

namespace quarry::kernels::simd512 {

static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

// int32 -> float in every lane (SIMDe 0.7 has no 512-bit form).
static inline simde__m512 to_float(simde__m512i v) {
#if defined(SIMDE_X86_AVX512F_NATIVE)
  return _mm512_cvtepi32_ps(v);
#else
  const simde__m512 lo =
      simde_mm512_castps256_ps512(simde_mm256_cvtepi32_ps(simde_mm512_castsi512_si256(v)));
  return simde_mm512_insertf32x8(lo, simde_mm256_cvtepi32_ps(simde_mm512_extracti64x4_epi64(v, 1)),
                                 1);
#endif
}

static inline float hsum(simde__m512 v) {
#if defined(SIMDE_X86_AVX512F_NATIVE)
  return _mm512_reduce_add_ps(v);
#else
  float f[16];
  std::memcpy(f, &v, sizeof f);
  for (int n = 8; n > 0; n /= 2) {
    for (int i = 0; i < n; ++i) f[i] += f[i + n];
  }
  return f[0];
#endif
}

}  // namespace quarry::kernels::simd512
