// `quarry generate --prompt` through the real binary: argument errors (exit 2),
// the tiny checkpoint whose 1000-token vocabulary cannot hold harmony's tokens
// (exit 1), and whole runs on a real-vocabulary model made by `quarry synth`
// (random weights, so the answer is noise, but rendering, decoding, streaming,
// the statistics and seeded reproducibility are all exercised).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli_run.h"

namespace {

const std::string kTiny = std::string(QUARRY_TEST_DATA) + "/gpt-oss-tiny/tiny-a";

using quarry::testing::CliRun;

// Runs `quarry ARGS` with empty stdin.
CliRun run(const std::string& args) { return quarry::testing::run_quarry(args); }

TEST(GenerateCli, SmallVocabularyModelIsRefused) {
  const CliRun r = run("generate --model " + kTiny + " --prompt 'Hello' --threads 1");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("vocabulary (1000 tokens) is too small for the harmony tokenizer"),
            std::string::npos)
      << r.err;
}

TEST(GenerateCli, PromptAndJsonlAreExclusive) {
  const CliRun r = run("generate --model " + kTiny + " --prompt 'Hello' --jsonl");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--jsonl and --prompt"), std::string::npos) << r.err;
}

TEST(GenerateCli, NeitherPromptNorJsonlIsAnError) {
  const CliRun r = run("generate --model " + kTiny);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--prompt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--jsonl"), std::string::npos) << r.err;
}

TEST(GenerateCli, InvalidSamplingParametersNameTheFlag) {
  // Checked before the model is loaded: the path does not even exist.
  const CliRun t = run("generate --model /nonexistent --prompt hi --temperature -1");
  EXPECT_EQ(t.status, 2) << t.err;
  EXPECT_NE(t.err.find("--temperature"), std::string::npos) << t.err;
  const CliRun p = run("generate --model /nonexistent --prompt hi --top-p=0");
  EXPECT_EQ(p.status, 2) << p.err;
  EXPECT_NE(p.err.find("--top-p"), std::string::npos) << p.err;
  const CliRun n = run("generate --model " + kTiny + " --prompt hi --temperature nan");
  EXPECT_NE(n.status, 0);
  EXPECT_NE(n.err.find("--temperature"), std::string::npos) << n.err;
}

TEST(GenerateCli, UnknownReasoningEffortIsRejected) {
  const CliRun r = run("generate --model " + kTiny + " --prompt hi --reasoning-effort extreme");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--reasoning-effort"), std::string::npos) << r.err;
}

class GenerateSynth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (std::filesystem::temp_directory_path() /
            ("quarry_generate_synth_" + std::to_string(getpid())))
               .string();
    std::filesystem::remove_all(dir_);
    const CliRun r =
        run("synth --layers 2 --hidden 64 --experts 4 --top-k 2 --heads 4 --kv-heads 2 "
            "--head-dim 16 --window 8 --seed 5 --threads 1 --out " +
            dir_);
    ASSERT_EQ(r.status, 0) << r.err;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  static std::string dir_;
};
std::string GenerateSynth::dir_;

TEST_F(GenerateSynth, GreedyRunStreamsAndReports) {
  const CliRun r = run("generate --model " + dir_ +
                       " --prompt 'What is 2+2?' --reasoning-effort low --max-tokens 6 "
                       "--temperature 0 --threads 1");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "no escape codes on a pipe";
  EXPECT_NE(r.err.find("generated 6 tokens"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tok/s"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("seed"), std::string::npos) << "greedy needs no seed: " << r.err;
  // Greedy is deterministic.
  EXPECT_EQ(run("generate --model " + dir_ +
                " --prompt 'What is 2+2?' --reasoning-effort low --max-tokens 6 "
                "--temperature 0 --threads 1")
                .out,
            r.out);
}

TEST_F(GenerateSynth, SeededSamplingRepeats) {
  const std::string args = "generate --model " + dir_ +
                           " --prompt hello --max-tokens 8 --temperature 1.0 --top-p 0.9 "
                           "--seed 77 --system 'Be brief.' --threads 1";
  const CliRun a = run(args), b = run(args);
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.err.find("seed 77"), std::string::npos) << a.err;
}

}  // namespace
