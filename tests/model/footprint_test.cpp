// The weight bytes one decoded token reads: the exact figure for the
// gpt-oss-20b shape, and agreement between the config-only count and the count
// from a loaded checkpoint's tensors.
#include "model/footprint.h"

#include <gtest/gtest.h>

#include "model/gpt_oss_model.h"

namespace quarry::model {
namespace {

// The gpt-oss-20b shape (as convert::preset_config("gpt-oss-20b"), built here
// so this test does not need the convert module).
GptOssConfig gpt_oss_20b() {
  GptOssConfig c;
  c.n_layer = 24;
  c.d_model = 2880;
  c.n_expert = 32;
  c.n_expert_active = 4;
  c.d_ff = 2880;
  c.n_head = 64;
  c.n_kv_head = 8;
  c.d_head = 64;
  c.n_vocab = 201088;
  c.sliding_window = 128;
  for (size_t l = 0; l < c.n_layer; ++l) c.layer_sliding.push_back(l % 2 == 0);
  c.max_position = 131072;
  return c;
}

TEST(Footprint, GptOss20bHfLayout) {
  const DecodeFootprint f = decode_footprint(gpt_oss_20b());
  EXPECT_EQ(f.total(), 3'708'089'088u);
  // The parts, worked by hand (BF16 = 2 bytes; MXFP4 = 16 code bytes + 1
  // scale byte per 32 values).
  EXPECT_EQ(f.lm_head, 201088u * 2880 * 2);
  EXPECT_EQ(f.embedding, 2880u * 2);
  // 4 experts x 24 layers x (gate_up 5760x2880 + down 2880x2880 values at
  // 17/32 byte, plus 5760 + 2880 BF16 biases).
  EXPECT_EQ(f.experts, 4u * 24 * ((5760u * 2880 + 2880u * 2880) / 32 * 17 + (5760 + 2880) * 2));
  // q/o 4096x2880, k/v 512x2880, biases 4096 + 512 + 512 + 2880, 64 sinks.
  EXPECT_EQ(f.attention,
            24u * (2 * (4096u * 2880 + 512u * 2880) * 2 + (4096 + 512 + 512 + 2880 + 64) * 2));
  EXPECT_EQ(f.router, 24u * (32 * 2880 + 32) * 2);
  EXPECT_EQ(f.norms, (24u * 2 + 1) * 2880 * 2);
}

TEST(Footprint, GgufDiffersOnlyByF32Vectors) {
  // block_mxfp4 packs the same 17 bytes per 32 values as HF blocks + scales;
  // llama.cpp stores every vector as F32, twice the HF release's BF16.
  const GptOssConfig c = gpt_oss_20b();
  const DecodeFootprint hf = decode_footprint(c, WeightFormat::kHF);
  const DecodeFootprint gguf = decode_footprint(c, WeightFormat::kGguf);
  const DecodeFootprint fused = decode_footprint(c, WeightFormat::kGgufFusedGateUp);
  EXPECT_EQ(gguf.lm_head, hf.lm_head);
  EXPECT_EQ(gguf.norms, 2 * hf.norms);
  EXPECT_EQ(gguf.experts - hf.experts, 4u * 24 * (5760 + 2880) * 2);
  EXPECT_EQ(fused.total(), gguf.total());
}

TEST(Footprint, LoadedModelMatchesItsConfig) {
  // tiny-a is a release-layout checkpoint (BF16 dense and vectors, U8 experts).
  auto m = load_model(std::string(QUARRY_TEST_DATA) + "/gpt-oss-tiny/tiny-a");
  ASSERT_TRUE(m.ok()) << m.message();
  const DecodeFootprint loaded = decode_footprint(**m);
  const DecodeFootprint spec = decode_footprint((*m)->config());
  EXPECT_EQ(loaded.total(), spec.total());
  EXPECT_EQ(loaded.experts, spec.experts);
  EXPECT_EQ(loaded.embedding, 64u * 2);
  EXPECT_GT(loaded.total(), 0u);
}

}  // namespace
}  // namespace quarry::model
