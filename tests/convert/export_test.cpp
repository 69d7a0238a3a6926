// convert: the HF and GGUF writers over HfRows. A checkpoint written both ways
// from the same rows computes bit-identical logits, the golden tiny-a converted
// to GGUF computes exactly what it computes as safetensors, and the presets
// have the release's exact sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convert/gguf_export.h"
#include "convert/hf_export.h"
#include "convert/synth_config.h"
#include "formats/gguf.h"
#include "formats/mxfp4.h"
#include "kernels/numeric.h"
#include "model/generate.h"
#include "model/gpt_oss_model.h"

namespace quarry::convert {
namespace {

namespace fs = std::filesystem;
using model::GptOssForward;
using model::load_model;

const std::string kTinyA = std::string(QUARRY_TEST_DATA) + "/gpt-oss-tiny/tiny-a";

// A fresh temporary path, removed with the fixture.
class TempDir {
 public:
  TempDir() {
    static int n = 0;
    path_ = fs::temp_directory_path() /
            ("quarry_convert_" + std::to_string(getpid()) + "_" + std::to_string(n++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

Dims small_dims(size_t vocab) {
  Dims d;
  d.layers = 3;
  d.hidden = 64;
  d.experts = 4;
  d.top_k = 2;
  d.heads = 4;
  d.kv_heads = 2;
  d.head_dim = 16;
  d.window = 4;
  d.vocab = vocab;
  return d;
}

std::vector<float> logits_of(const model::GptOssModel& m, size_t n_tok) {
  ThreadPool pool(2);
  GptOssForward fwd(m, kernels::ref_ops(), pool);
  std::vector<int32_t> ids(n_tok), pos(n_tok);
  const auto V = static_cast<int32_t>(m.config().n_vocab);
  for (size_t i = 0; i < n_tok; ++i) {
    ids[i] = static_cast<int32_t>((i * 7919 + 13) % static_cast<size_t>(V));
    pos[i] = static_cast<int32_t>(i);
  }
  auto l = model::sequence_logits(fwd, ids, pos);
  EXPECT_TRUE(l.ok()) << l.message();
  return l.ok() ? *l : std::vector<float>{};
}

TEST(Presets, ExactReleaseSizes) {
  auto bytes = [](const GptOssConfig& c) {
    uint64_t total = 0;
    model::for_each_tensor(c, model::WeightFormat::kHF, [&](const model::WeightSpec& s) {
      uint64_t n = s.dtype == formats::DType::kU8 ? 1 : 2;
      for (uint64_t d : s.shape) n *= d;
      total += n;
    });
    return total;
  };
  auto b20 = preset_config("gpt-oss-20b");
  auto b120 = preset_config("gpt-oss-120b");
  ASSERT_TRUE(b20.ok() && b120.ok());
  EXPECT_EQ(bytes(*b20), 13'761'264'768u);  // the release's total_size (spec §9)
  EXPECT_EQ(bytes(*b120), 65'248'815'744u);
  EXPECT_EQ(b20->eos_ids, (std::vector<int64_t>{200002, 199999, 200012}));
  EXPECT_FALSE(preset_config("gpt-oss-7b").ok());
}

TEST(Presets, CustomDimsAreValidated) {
  Dims d;
  d.hidden = 100;
  auto c = synth_config("gpt-oss-20b", d);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("multiple of 32"), std::string::npos) << c.message();
  d = Dims{};
  d.heads = 6;
  EXPECT_FALSE(synth_config("gpt-oss-20b", d).ok());
  auto ok = synth_config("gpt-oss-120b", small_dims(1000));
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(ok->d_ff, 64u);  // follows --hidden
  EXPECT_EQ(ok->layer_sliding, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(ok->bos_id, 995);
}

TEST(HfExport, ConfigJsonReadsBack) {
  auto c = preset_config("gpt-oss-20b");
  ASSERT_TRUE(c.ok());
  auto back = model::parse_hf_config(hf_config_json(*c), hf_generation_config_json(*c), "synth");
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->n_layer, 24u);
  EXPECT_EQ(back->layer_sliding, c->layer_sliding);
  EXPECT_EQ(back->rope_truncate, false);
  EXPECT_EQ(back->rope_theta, 150000.0);
  EXPECT_EQ(back->rms_norm_eps, 1e-5f);
  EXPECT_EQ(back->eos_ids, c->eos_ids);
  const auto j = nlohmann::json::parse(hf_config_json(*c));
  EXPECT_EQ(j["rope_scaling"]["truncate"], false);
  EXPECT_EQ(j["rope_theta"].dump(), "150000");
  EXPECT_EQ(j["rms_norm_eps"].dump(), "1e-05");
}

TEST(RandomRows, DeterministicPerSeedAndScaledToFanIn) {
  auto c = preset_config("gpt-oss-20b");
  ASSERT_TRUE(c.ok());
  std::map<model::TensorRole, model::WeightSpec> layer0;
  model::for_each_tensor(*c, model::WeightFormat::kHF, [&](const model::WeightSpec& s) {
    if (s.layer <= 0) layer0.emplace(s.role, s);
  });
  RandomRows a(7), b(7), other(8);
  const auto& wq = layer0.at(model::TensorRole::kWq);
  std::vector<uint8_t> r1(row_elems(wq) * 2), r2(r1.size()), r3(r1.size());
  a.row(wq, 5, r1.data());
  b.row(wq, 5, r2.data());
  other.row(wq, 5, r3.data());
  EXPECT_EQ(r1, r2);
  EXPECT_NE(r1, r3);
  a.row(wq, 6, r3.data());
  EXPECT_NE(r1, r3);  // rows differ

  // Dense: variance ~ 1 / fan_in, so a unit input gives an O(1) output.
  double ss = 0;
  for (size_t i = 0; i < row_elems(wq); ++i) {
    uint16_t h;
    std::memcpy(&h, &r1[2 * i], 2);
    const double v = kernels::bf16_to_f32(h);
    ss += v * v;
  }
  EXPECT_NEAR(ss, 1.0, 0.15);  // sum of squares over the fan-in

  // MXFP4 experts: the decoded row has the same scale, within a factor 2.
  const auto& blocks = layer0.at(model::TensorRole::kGateUpBlocks);
  const auto& scales = layer0.at(model::TensorRole::kGateUpScales);
  std::vector<uint8_t> codes(row_elems(blocks)), sc(row_elems(scales));
  a.row(blocks, 11, codes.data());
  a.row(scales, 11, sc.data());
  ss = 0;
  for (size_t g = 0; g < sc.size(); ++g) {
    EXPECT_NE(sc[g], formats::kMxfp4InvalidScale);
    float v[32];
    formats::mxfp4_decode_hf_block(&codes[g * 16], sc[g], v);
    for (float x : v) ss += static_cast<double>(x) * x;
  }
  EXPECT_GT(ss, 0.3);
  EXPECT_LT(ss, 2.0);
}

TEST(Synth, HfAndGgufFromTheSameRowsGiveIdenticalLogits) {
  auto c = synth_config("gpt-oss-20b", small_dims(1000));
  ASSERT_TRUE(c.ok()) << c.message();
  TempDir tmp;
  ThreadPool pool(2);
  RandomRows rows(42);
  HfExport hf_opt{4096, nullptr, nullptr};  // tiny shards: the index is exercised
  auto shards = write_hf_checkpoint(tmp / "hf", *c, rows, hf_opt, pool);
  ASSERT_TRUE(shards.ok()) << shards.message();
  EXPECT_GT(shards->size(), 1u);
  EXPECT_EQ(shards->front().rfind("model-00000-of-000", 0), 0u) << shards->front();
  EXPECT_FALSE(fs::exists(tmp / "hf/tokenizer.json"));
  uint64_t done = 0, total = 0;
  GgufExport gg_opt{"synth", nullptr, [&](uint64_t d, uint64_t t) { done = d, total = t; }};
  ASSERT_TRUE(write_gguf(tmp / "m.gguf", *c, rows, gg_opt, pool).ok());
  EXPECT_EQ(done, total);
  EXPECT_GT(total, 0u);

  auto a = load_model(tmp / "hf");
  auto b = load_model(tmp / "m.gguf");
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ((*b)->weights().format, model::WeightFormat::kGguf);
  EXPECT_EQ((*b)->config().layer_sliding, c->layer_sliding);
  const auto la = logits_of(**a, 24), lb = logits_of(**b, 24);
  ASSERT_FALSE(la.empty());
  EXPECT_EQ(la, lb);
  double ss = 0;
  for (float x : la) {
    ASSERT_TRUE(std::isfinite(x));
    ss += static_cast<double>(x) * x;
  }
  const double rms = std::sqrt(ss / static_cast<double>(la.size()));
  EXPECT_GT(rms, 0.05);
  EXPECT_LT(rms, 50.0);
}

TEST(Convert, TinyAAsGgufGivesIdenticalLogits) {
  auto hf = load_model(kTinyA);
  ASSERT_TRUE(hf.ok()) << hf.message();
  TempDir tmp;
  ThreadPool pool(2);
  SourceRows rows((*hf)->source());
  ASSERT_TRUE(
      write_gguf(tmp / "tiny-a.gguf", (*hf)->config(), rows, {"tiny-a", nullptr, nullptr}, pool)
          .ok());
  auto gg = load_model(tmp / "tiny-a.gguf");
  ASSERT_TRUE(gg.ok()) << gg.message();
  const model::GptOssConfig& a = (*hf)->config();
  const model::GptOssConfig& b = (*gg)->config();
  EXPECT_EQ(b.n_vocab, a.n_vocab);
  EXPECT_EQ(b.d_head, a.d_head);
  EXPECT_EQ(b.sliding_window, a.sliding_window);
  EXPECT_EQ(b.bos_id, a.bos_id);
  EXPECT_EQ(b.eos_ids.front(), a.eos_ids.front());
  EXPECT_EQ(logits_of(**hf, 40), logits_of(**gg, 40));
}

TEST(Convert, RefusesWhatGgufCannotSay) {
  auto c = preset_config("gpt-oss-20b");
  ASSERT_TRUE(c.ok());
  formats::GgufWriter w;
  c->rope_truncate = true;
  Status s = set_gguf_metadata(w, *c, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("truncate"), std::string::npos);
}

TEST(Synth, RealVocabularyTokenizerInBothFormats) {
  auto tok = tokenizer::Tokenizer::load(QUARRY_RANKS_FILE);
  ASSERT_TRUE(tok.ok()) << tok.message();
  Dims d = small_dims(tokenizer::kVocabSize);
  d.layers = 1;
  d.hidden = 32;
  d.intermediate = 32;
  auto c = synth_config("gpt-oss-20b", d);
  ASSERT_TRUE(c.ok()) << c.message();
  TempDir tmp;
  ThreadPool pool(2);
  RandomRows rows(1);
  ASSERT_TRUE(
      write_hf_checkpoint(tmp / "hf", *c, rows, {4'800'000'000, &*tok, nullptr}, pool).ok());
  ASSERT_TRUE(write_gguf(tmp / "m.gguf", *c, rows, {"rv", &*tok, nullptr}, pool).ok());

  const std::string text = "Quarry: <|start|> naïve café 日本語 1234567 \n\n  x";
  auto from_json = tokenizer::Tokenizer::load(tmp / "hf");
  ASSERT_TRUE(from_json.ok()) << from_json.message();
  EXPECT_EQ(from_json->encode(text, tokenizer::Specials::kAll),
            tok->encode(text, tokenizer::Specials::kAll));

  auto g = formats::GgufFile::open(tmp / "m.gguf");
  ASSERT_TRUE(g.ok()) << g.message();
  auto tokens = g->get_string_array("tokenizer.ggml.tokens");
  auto merges = g->get_string_array("tokenizer.ggml.merges");
  ASSERT_TRUE(tokens.ok() && merges.ok());
  EXPECT_EQ(tokens->size(), tokenizer::kVocabSize);
  EXPECT_EQ(merges->size(), tok->merges().size());
  EXPECT_GT(merges->size(), 199000u);
  EXPECT_EQ(*g->get_string("tokenizer.ggml.model"), "gpt2");
  auto from_gguf = tokenizer::Tokenizer::from_gguf_tokens(
      *tokens, *g->get_string("tokenizer.ggml.pre"), "m.gguf");
  ASSERT_TRUE(from_gguf.ok()) << from_gguf.message();
  EXPECT_EQ(from_gguf->encode(text, tokenizer::Specials::kAll),
            tok->encode(text, tokenizer::Specials::kAll));
  auto m = load_model(tmp / "m.gguf");
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ((*m)->config().eos_ids.front(), tokenizer::kReturn);
}

}  // namespace
}  // namespace quarry::convert
