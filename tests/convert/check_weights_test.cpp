// model::check_expert_scales on synthesized checkpoints: clean files pass; a
// scale byte of 255 patched into the file is reported with the tensor name,
// while plain loading (which does not read every scale) still succeeds.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "convert/gguf_export.h"
#include "convert/hf_export.h"
#include "convert/synth_config.h"
#include "model/gpt_oss_model.h"

namespace quarry::convert {
namespace {

namespace fs = std::filesystem;

void patch_byte(const std::string& file, uint64_t offset, uint8_t value) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(value));
}

class CheckWeights : public ::testing::TestWithParam<bool> {};

TEST_P(CheckWeights, ScaleOf255IsFoundAndNamed) {
  const bool gguf = GetParam();
  Dims d;
  d.layers = 2;
  d.hidden = 64;
  d.experts = 4;
  d.top_k = 2;
  d.heads = 4;
  d.kv_heads = 2;
  d.head_dim = 16;
  d.vocab = 300;
  auto c = synth_config("gpt-oss-20b", d);
  ASSERT_TRUE(c.ok()) << c.message();
  const fs::path dir = fs::temp_directory_path() / ("quarry_check_" + std::to_string(getpid()));
  fs::remove_all(dir);
  ThreadPool pool(1);
  RandomRows rows(3);
  const std::string path = gguf ? (dir / "m.gguf").string() : (dir / "hf").string();
  fs::create_directories(dir);
  if (gguf) {
    ASSERT_TRUE(write_gguf(path, *c, rows, {"t", nullptr, nullptr}, pool).ok());
  } else {
    ASSERT_TRUE(write_hf_checkpoint(path, *c, rows, {4'800'000'000, nullptr, nullptr}, pool).ok());
  }
  uint64_t offset = 0;
  std::string file;
  const std::string name =
      gguf ? "blk.1.ffn_down_exps.weight" : "model.layers.1.mlp.experts.down_proj_scales";
  {
    auto m = model::load_model(path);
    ASSERT_TRUE(m.ok()) << m.message();
    EXPECT_TRUE(model::check_expert_scales(**m).ok());
    const formats::TensorInfo* t = (*m)->source().find(name);
    ASSERT_NE(t, nullptr);
    // The scale of block 5: a byte of its own (HF) or the first of the block (ggml).
    offset = t->file_offset + (gguf ? 5 * 17 : 5);
    file = t->file;
  }
  patch_byte(file, offset, 255);
  auto m = model::load_model(path);
  ASSERT_TRUE(m.ok()) << m.message();
  const Status s = model::check_expert_scales(**m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(name), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(std::to_string(offset)), std::string::npos) << s.message();
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Formats, CheckWeights, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Gguf" : "Hf"; });

}  // namespace
}  // namespace quarry::convert
