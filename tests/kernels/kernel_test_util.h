// Helpers for the kernel tests: seeded random data and naive fp64 references.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "kernels/amx/amx_kernels.h"
#include "kernels/avx512/avx512_kernels.h"
#include "kernels/numeric.h"
#include "kernels/ops.h"

namespace quarry::kernels::testing {

// A test over one kernel variant, named by the parameter; skipped with the
// reason where this CPU cannot run it, so a missing ISA shows as a skip.
// "avx512_emu" and "amx_emu" are the AVX-512 and AMX tables on portable code
// (SIMDe, a model of the tile instructions): they run anywhere.
class VariantTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (std::string_view(GetParam()) == "avx512_emu") {
      ops_ = &avx512_emu::fast_ops();
      return;
    }
    if (std::string_view(GetParam()) == "amx_emu") {
      ops_ = &amx_emu::fast_ops();
      return;
    }
    auto o = find_ops(GetParam());
    if (!o.ok()) GTEST_SKIP() << GetParam() << " is not usable on this CPU: " << o.message();
    ops_ = o.value();
  }
  const Ops* ops_ = nullptr;
};

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

inline std::vector<uint8_t> random_bytes(size_t n, uint32_t seed, int lo = 0, int hi = 255) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<uint8_t> v(n);
  for (uint8_t& x : v) x = static_cast<uint8_t>(d(rng));
  return v;
}

// HF block (16 code bytes + scale) -> ggml block_mxfp4 (17 bytes).
inline void hf_to_ggml_block(const uint8_t* codes, uint8_t scale, uint8_t* out) {
  uint8_t c[32];
  for (int j = 0; j < 16; ++j) {
    c[2 * j] = codes[j] & 0x0F;
    c[2 * j + 1] = codes[j] >> 4;
  }
  out[0] = scale;
  for (int j = 0; j < 16; ++j) out[1 + j] = static_cast<uint8_t>(c[j] | (c[j + 16] << 4));
}

}  // namespace quarry::kernels::testing
