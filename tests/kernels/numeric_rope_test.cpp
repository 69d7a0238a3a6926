// Number formats, MXFP4 block decoding and YaRN RoPE against hand-computed
// values and the golden unit vectors.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "kernel_test_util.h"
#include "kernels/numeric.h"
#include "kernels/ops.h"
#include "kernels/rope_yarn.h"

namespace quarry::kernels {
namespace {

nlohmann::json golden_units() {
  std::ifstream in(std::string(QUARRY_TEST_DATA) + "/gpt-oss-tiny/tiny-a.golden.json");
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in)["unit_vectors"];
}

TEST(Numeric, Bf16AndF16) {
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xC040), -3.0f);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(bf16_to_f32(0x1234)), 0x1234);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x0200), std::ldexp(1.0f, -15));
  EXPECT_EQ(f16_to_f32(0x8000), -0.0f);
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
}

TEST(Numeric, E8m0ScaleIsLdexp) {
  for (int s = 0; s < 255; ++s) {
    EXPECT_EQ(e8m0_to_f32(static_cast<uint8_t>(s)), std::ldexp(1.0f, s - 127)) << s;
  }
  EXPECT_TRUE(std::isinf(e8m0_to_f32(255)));
}

TEST(Mxfp4, GoldenFirstBlockExactInBothLayouts) {
  const nlohmann::json u = golden_units()["mxfp4_first_block"];
  uint8_t codes[16];
  for (int j = 0; j < 16; ++j) codes[j] = u["bytes"][j].get<uint8_t>();
  const uint8_t scale = u["scale"].get<uint8_t>();
  float hf[32], gg[32];
  mxfp4_decode_block_hf(codes, scale, hf);
  uint8_t block[17];
  testing::hf_to_ggml_block(codes, scale, block);
  mxfp4_decode_block_ggml(block, gg);
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(hf[i], u["decoded"][i].get<float>()) << i;
    EXPECT_EQ(gg[i], hf[i]) << i;
  }
  // The spec's worked example: 0xD4 with scale 125 -> +0.5, -0.75.
  const uint8_t d4[16] = {0xD4};
  mxfp4_decode_block_hf(d4, 125, hf);
  EXPECT_EQ(hf[0], 0.5f);
  EXPECT_EQ(hf[1], -0.75f);
}

TEST(RopeYarn, GoldenInvFreqAndConcentration) {
  const nlohmann::json u = golden_units()["rope"];
  // The golden models use the release's rope block with their own head_dim.
  YarnParams p;
  p.d_head = 2 * u["inv_freq"].size();
  p.theta = 150000.0;
  p.factor = 32.0;
  p.original_context = 4096.0;
  p.beta_fast = 32.0;
  p.beta_slow = 1.0;
  p.truncate = false;
  YarnRope r(p);
  ASSERT_EQ(r.half(), u["inv_freq"].size());
  for (size_t i = 0; i < r.half(); ++i) {
    const double want = u["inv_freq"][i].get<double>();
    EXPECT_NEAR(r.inv_freq()[i] / want, 1.0, 1e-6) << i;
  }
  EXPECT_NEAR(r.concentration(), u["concentration"].get<double>(), 1e-8);
  EXPECT_DOUBLE_EQ(r.concentration(), 0.1 * std::log(32.0) + 1.0);
}

TEST(RopeYarn, RampEndsFor20bShape) {
  // d_head 64: low = 8.0928, high = 17.398 -> dims 0..8 keep 1/f, 18..31 are
  // divided by the factor, 9..17 blend (spec §4.4).
  YarnParams p{64, 150000.0, 32.0, 4096.0, 32.0, 1.0, false, 0.0};
  YarnRope r(p);
  for (size_t i = 0; i < 32; ++i) {
    const double f = std::pow(150000.0, 2.0 * i / 64.0);
    if (i <= 8) {
      EXPECT_DOUBLE_EQ(r.inv_freq()[i], 1.0 / f) << i;
    } else if (i >= 18) {
      EXPECT_NEAR(r.inv_freq()[i] * 32.0 * f, 1.0, 1e-15) << i;
    } else {
      EXPECT_LT(r.inv_freq()[i], 1.0 / f);
      EXPECT_GT(r.inv_freq()[i], 1.0 / (32.0 * f));
    }
  }
  const double low = 32.0 * std::log(4096.0 / (32.0 * 2 * M_PI)) / std::log(150000.0);
  const double high = 32.0 * std::log(4096.0 / (2 * M_PI)) / std::log(150000.0);
  EXPECT_NEAR(low, 8.092779115512402, 1e-12);
  EXPECT_NEAR(high, 17.39802450158856, 1e-12);
  const double ramp = (12.0 - low) / (high - low);
  const double f12 = std::pow(150000.0, 24.0 / 64.0);
  EXPECT_NEAR(r.inv_freq()[12], (1.0 / (32.0 * f12)) * ramp + (1.0 / f12) * (1.0 - ramp), 1e-18);
  // Truncation (what llama.cpp does) moves the ramp ends to 8 and 18.
  p.truncate = true;
  YarnRope t(p);
  EXPECT_NEAR(t.inv_freq()[12], (1.0 / (32.0 * f12)) * 0.4 + (1.0 / f12) * 0.6, 1e-18);
}

TEST(RopeYarn, RotatesHalfSplitPairsWithConcentration) {
  YarnParams p{4, 10000.0, 32.0, 4096.0, 32.0, 1.0, false, 0.0};
  YarnRope r(p);
  float cs[2], sn[2];
  r.cos_sin(3, cs, sn);
  const double c = r.concentration();
  for (int i = 0; i < 2; ++i) {
    EXPECT_FLOAT_EQ(cs[i], static_cast<float>(c * std::cos(3.0 * r.inv_freq()[i])));
    EXPECT_FLOAT_EQ(sn[i], static_cast<float>(c * std::sin(3.0 * r.inv_freq()[i])));
  }
  // Two heads of d_head 4: pairs (0, 2) and (1, 3).
  float x[8] = {1, 2, 3, 4, -1, 0.5f, 2, -3};
  const float x0[8] = {1, 2, 3, 4, -1, 0.5f, 2, -3};
  ref_ops().rope_yarn_f32(x, 2, 4, cs, sn);
  for (int h = 0; h < 2; ++h) {
    const float* a = x0 + 4 * h;
    const float* y = x + 4 * h;
    for (int i = 0; i < 2; ++i) {
      EXPECT_FLOAT_EQ(y[i], a[i] * cs[i] - a[i + 2] * sn[i]);
      EXPECT_FLOAT_EQ(y[i + 2], a[i + 2] * cs[i] + a[i] * sn[i]);
    }
  }
  // Position 0 only scales by the concentration.
  r.cos_sin(0, cs, sn);
  EXPECT_FLOAT_EQ(cs[0], static_cast<float>(c));
  EXPECT_EQ(sn[1], 0.0f);
}

TEST(RopeYarn, NoScalingIsPlainRope) {
  YarnParams p{8, 10000.0, 1.0, 4096.0, 32.0, 1.0, false, 0.0};
  YarnRope r(p);
  EXPECT_EQ(r.concentration(), 1.0);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_DOUBLE_EQ(r.inv_freq()[i], 1.0 / std::pow(10000.0, static_cast<double>(i) / 4.0));
}

}  // namespace
}  // namespace quarry::kernels
