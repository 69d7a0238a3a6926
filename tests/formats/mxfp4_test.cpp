#include "formats/mxfp4.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "formats/safetensors.h"
#include "test_util.h"

namespace quarry::formats {
namespace {

using ::testing::HasSubstr;

// shared/golden/gpt-oss-tiny/tiny-a.golden.json unit_vectors.mxfp4_first_block:
// model.layers.0.mlp.experts.gate_up_proj_blocks/_scales [0, 0, 0].
constexpr uint8_t kGoldenBytes[16] = {212, 153, 101, 75, 224, 61, 204, 82,
                                      48,  180, 29,  89, 75,  53, 100, 28};
constexpr uint8_t kGoldenScale = 125;
constexpr float kGoldenDecoded[32] = {0.5,    -0.75, -0.125, -0.125, 0.75,  1.0,   -0.375, 0.5,
                                      0.0,    -1.0,  -0.75,  0.375,  -0.5,  -0.5,  0.25,   0.75,
                                      0.0,    0.375, 0.5,    -0.375, -0.75, 0.125, -0.125, 0.75,
                                      -0.375, 0.5,   0.75,   0.375,  0.5,   1.0,   -0.5,   0.125};

TEST(Mxfp4, E2M1Table) {
  const float want[16] = {0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0f, -0.5, -1, -1.5, -2, -3, -4, -6};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(kFp4E2M1[i], want[i]) << i;
  EXPECT_TRUE(std::signbit(kFp4E2M1[8]));
  EXPECT_EQ(mxfp4_scale(127), 1.0f);
  EXPECT_EQ(mxfp4_scale(125), 0.25f);
  EXPECT_EQ(mxfp4_scale(0), std::ldexp(1.0f, -127));
  EXPECT_EQ(mxfp4_scale(254), std::ldexp(1.0f, 127));
}

TEST(Mxfp4, GoldenFirstBlockDecodesExactly) {
  float out[32];
  mxfp4_decode_hf_block(kGoldenBytes, kGoldenScale, out);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(out[i], kGoldenDecoded[i]) << i;
  // The same block through the ggml layout.
  uint8_t g[17];
  mxfp4_hf_to_ggml_block(kGoldenBytes, kGoldenScale, g);
  EXPECT_EQ(g[0], kGoldenScale);
  float out2[32];
  mxfp4_decode_ggml_block(g, out2);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(out2[i], kGoldenDecoded[i]) << i;
}

TEST(Mxfp4, GoldenBlockIsTheFirstBlockOfTinyA) {
  auto f = SafetensorsFile::open(testutil::tiny_a_dir() + "/model.safetensors");
  ASSERT_TRUE(f.ok()) << f.message();
  const TensorInfo* blocks = f->find("model.layers.0.mlp.experts.gate_up_proj_blocks");
  const TensorInfo* scales = f->find("model.layers.0.mlp.experts.gate_up_proj_scales");
  ASSERT_NE(blocks, nullptr);
  ASSERT_NE(scales, nullptr);
  EXPECT_EQ(0, std::memcmp(blocks->data, kGoldenBytes, 16));
  EXPECT_EQ(scales->data[0], kGoldenScale);
  EXPECT_TRUE(mxfp4_check_hf_pair(*blocks, *scales).ok());
  // Every scale tensor of the checkpoint is valid (no 255).
  for (const auto& t : f->tensors()) {
    if (t.name.ends_with("_scales")) {
      EXPECT_TRUE(mxfp4_check_hf_scales(t).ok()) << t.name;
    }
  }
  // A mismatched pair is named.
  const TensorInfo* down = f->find("model.layers.0.mlp.experts.down_proj_scales");
  const Status st = mxfp4_check_hf_pair(*blocks, *down);
  EXPECT_THAT(st.message(), HasSubstr("'model.layers.0.mlp.experts.gate_up_proj_blocks'"));
  EXPECT_THAT(st.message(), HasSubstr("'model.layers.0.mlp.experts.down_proj_scales'"));
  EXPECT_THAT(st.message(), HasSubstr("byte offset"));
}

TEST(Mxfp4, HfAndGgmlLayoutsDecodeTheSame) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    uint8_t codes[16];
    for (auto& c : codes) c = static_cast<uint8_t>(rng());
    const uint8_t scale = static_cast<uint8_t>(rng() % 255);
    uint8_t g[17];
    mxfp4_hf_to_ggml_block(codes, scale, g);
    float a[32], b[32];
    mxfp4_decode_hf_block(codes, scale, a);
    mxfp4_decode_ggml_block(g, b);
    for (int i = 0; i < 32; ++i) ASSERT_EQ(std::memcmp(&a[i], &b[i], 4), 0) << trial << " " << i;
    uint8_t back[16], back_scale = 0;
    mxfp4_ggml_to_hf_block(g, back, &back_scale);
    EXPECT_EQ(0, std::memcmp(back, codes, 16));
    EXPECT_EQ(back_scale, scale);
  }
  // The spec's rule: qs[j] = code[j] | code[j + 16] << 4 (element order, not byte order).
  uint8_t codes[16] = {0x21};  // element 0 = 1, element 1 = 2
  uint8_t g[17];
  mxfp4_hf_to_ggml_block(codes, 127, g);
  EXPECT_EQ(g[1], 0x01);  // element 0, element 16 = 0
  EXPECT_EQ(g[2], 0x02);  // element 1
}

TEST(Mxfp4, RowConversion) {
  std::vector<uint8_t> codes(3 * 16), scales = {100, 127, 140}, out(3 * 17);
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>(i * 37);
  ASSERT_TRUE(mxfp4_hf_to_ggml(codes, scales, out).ok());
  for (int b = 0; b < 3; ++b) {
    uint8_t g[17];
    mxfp4_hf_to_ggml_block(codes.data() + b * 16, scales[b], g);
    EXPECT_EQ(0, std::memcmp(g, out.data() + b * 17, 17));
  }
  std::vector<uint8_t> small(10);
  EXPECT_FALSE(mxfp4_hf_to_ggml(codes, scales, small).ok());
}

TEST(Mxfp4, InvalidScaleNamesTensorBlockAndOffset) {
  std::vector<uint8_t> scales = {127, 127, 127, 127, 127, 255, 127};
  TensorInfo t;
  t.name = "blk.0.scales";
  t.dtype = DType::kU8;
  t.shape = {7};
  t.data = scales.data();
  t.nbytes = scales.size();
  t.file = "m.safetensors";
  t.file_offset = 1000;
  EXPECT_EQ(mxfp4_check_hf_scales(t).message(),
            "m.safetensors: tensor 'blk.0.scales': MXFP4 block 5 has the invalid scale 255 "
            "(byte offset 1005)");
  std::vector<uint8_t> ggml(3 * 17, 0);
  ggml[0] = 127;
  ggml[17] = 127;
  ggml[34] = 255;
  TensorInfo g;
  g.name = "blk.0.ffn_down_exps.weight";
  g.dtype = DType::kMXFP4;
  g.shape = {96};
  g.data = ggml.data();
  g.nbytes = ggml.size();
  g.file = "m.gguf";
  g.file_offset = 64;
  EXPECT_THAT(mxfp4_check_ggml_scales(g).message(),
              HasSubstr("m.gguf: tensor 'blk.0.ffn_down_exps.weight': MXFP4 block 2 has the "
                        "invalid scale 255 (byte offset 98)"));
  ggml[34] = 254;
  EXPECT_TRUE(mxfp4_check_ggml_scales(g).ok());
}

}  // namespace
}  // namespace quarry::formats
