// `quarry synth` and `quarry convert` through the real binary: the written
// checkpoints load and compute the same logits in both formats, and bad
// arguments or existing outputs fail with a message and a non-zero status.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli_run.h"

namespace {

namespace fs = std::filesystem;

using quarry::testing::CliRun;

CliRun run(const std::string& args, const std::string& input = "") {
  return quarry::testing::run_quarry(args, input);
}

class ConvertCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("quarry_convert_cli_dir_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

const std::string kSmall =
    "--layers 2 --hidden 64 --experts 4 --top-k 2 --heads 4 --kv-heads 2 --head-dim 16 "
    "--window 4 --vocab 512";
const std::string kLogitsLine =
    "{\"input_ids\": [1, 5, 9, 200, 3, 77, 42, 8], \"positions\": [7]}\n";

TEST_F(ConvertCli, SynthBothFormatsAndConvertAgree) {
  const CliRun hf = run("synth " + kSmall + " --seed 9 --out " + path("hf"));
  ASSERT_EQ(hf.status, 0) << hf.err;
  EXPECT_TRUE(fs::exists(path("hf/config.json")));
  EXPECT_TRUE(fs::exists(path("hf/generation_config.json")));
  EXPECT_TRUE(fs::exists(path("hf/model.safetensors.index.json")));
  EXPECT_TRUE(fs::exists(path("hf/model-00000-of-00000.safetensors")));
  const CliRun gg = run("synth " + kSmall + " --seed 9 --format gguf --out " + path("s.gguf"));
  ASSERT_EQ(gg.status, 0) << gg.err;
  const CliRun cv = run("convert " + path("hf") + " --out " + path("c.gguf"));
  ASSERT_EQ(cv.status, 0) << cv.err;

  const CliRun a = run("logits --jsonl --model " + path("hf"), kLogitsLine);
  const CliRun b = run("logits --jsonl --model " + path("s.gguf"), kLogitsLine);
  const CliRun c = run("logits --jsonl --model " + path("c.gguf"), kLogitsLine);
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_NE(a.out.find("\"logits\""), std::string::npos) << a.out;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out, c.out);
  EXPECT_EQ(run("logits --jsonl --check-weights --model " + path("s.gguf"), kLogitsLine).out,
            a.out);

  // Another seed gives other weights.
  const CliRun other = run("synth " + kSmall + " --seed 10 --out " + path("hf2"));
  ASSERT_EQ(other.status, 0) << other.err;
  EXPECT_NE(run("logits --jsonl --model " + path("hf2"), kLogitsLine).out, a.out);
}

TEST_F(ConvertCli, RefusesToOverwriteWithoutForce) {
  ASSERT_EQ(run("synth " + kSmall + " --format gguf --out " + path("m.gguf")).status, 0);
  const CliRun again = run("synth " + kSmall + " --format gguf --out " + path("m.gguf"));
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(run("synth " + kSmall + " --format gguf --force --out " + path("m.gguf")).status, 0);
}

TEST_F(ConvertCli, BadArgumentsAreClearErrors) {
  CliRun r = run("synth --hidden 100 --out " + path("x"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("multiple of 32"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("x")));
  r = run("synth --preset gpt-oss-7b --out " + path("x"));
  EXPECT_NE(r.status, 0);
  r = run("synth " + kSmall + " --format safetensors --out " + path("x"));
  EXPECT_NE(r.status, 0);
  r = run("convert " + path("missing") + " --out " + path("y.gguf"));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("not a directory"), std::string::npos) << r.err;
  fs::create_directories(path("empty"));
  r = run("convert " + path("empty") + " --out " + path("y.gguf"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("y.gguf")));
}

}  // namespace
