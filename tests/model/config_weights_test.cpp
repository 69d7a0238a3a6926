// Config parsing and weight binding: every key of the release config, the
// alternative spellings, and precise messages for what cannot be run.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/file.h"
#include "model/gpt_oss_model.h"
#include "synthetic.h"

namespace quarry::model {
namespace {

const std::string kTinyA = std::string(QUARRY_TEST_DATA) + "/gpt-oss-tiny/tiny-a";

nlohmann::json tiny_a_config() {
  return nlohmann::json::parse(read_file(kTinyA + "/config.json").value());
}

TEST(Config, TinyAReleaseKeys) {
  auto c = load_hf_config(kTinyA);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->n_layer, 4u);
  EXPECT_EQ(c->d_model, 64u);
  EXPECT_EQ(c->n_expert, 8u);
  EXPECT_EQ(c->n_expert_active, 4u);
  EXPECT_EQ(c->d_ff, 96u);
  EXPECT_EQ(c->n_head, 8u);
  EXPECT_EQ(c->n_kv_head, 2u);
  EXPECT_EQ(c->d_head, 16u);
  EXPECT_EQ(c->n_vocab, 1000u);
  EXPECT_EQ(c->sliding_window, 4u);
  EXPECT_EQ(c->layer_sliding, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(c->max_position, 131072u);
  EXPECT_EQ(c->rope_theta, 150000.0);
  EXPECT_EQ(c->rope_factor, 32.0);
  EXPECT_EQ(c->rope_original_context, 4096.0);
  EXPECT_EQ(c->rope_beta_fast, 32.0);
  EXPECT_EQ(c->rope_beta_slow, 1.0);
  EXPECT_FALSE(c->rope_truncate);
  EXPECT_FLOAT_EQ(c->rms_norm_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c->swiglu_limit, 7.0f);
  EXPECT_FLOAT_EQ(c->swiglu_alpha, 1.702f);
  EXPECT_EQ(c->bos_id, 995);
  EXPECT_EQ(c->pad_id, 996);
  EXPECT_EQ(c->eos_ids, (std::vector<int64_t>{997, 996, 998}));  // generation_config wins
}

TEST(Config, AlternativeSpellingsAndDefaults) {
  nlohmann::json j = tiny_a_config();
  j.erase("layer_types");
  j.erase("num_local_experts");
  j["num_experts"] = 8;
  j["rope_scaling"].erase("truncate");  // transformers' default: truncate
  auto c = parse_hf_config(j.dump(), "", "cfg");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->layer_sliding, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(c->n_expert, 8u);
  EXPECT_TRUE(c->rope_truncate);
  EXPECT_EQ(c->eos_ids, (std::vector<int64_t>{997}));

  // Newer transformers: rope_parameters with rope_theta inside.
  j = tiny_a_config();
  j["rope_parameters"] = j["rope_scaling"];
  j["rope_parameters"]["rope_theta"] = 150000;
  j.erase("rope_scaling");
  j.erase("rope_theta");
  c = parse_hf_config(j.dump(), "", "cfg");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->rope_theta, 150000.0);
  EXPECT_EQ(c->rope_factor, 32.0);
}

TEST(Config, PreciseErrors) {
  auto err = [](const nlohmann::json& j) {
    auto c = parse_hf_config(j.dump(), "", "x/config.json");
    EXPECT_FALSE(c.ok());
    return c.ok() ? std::string() : c.message();
  };
  nlohmann::json j = tiny_a_config();
  j.erase("hidden_size");
  EXPECT_EQ(err(j), "x/config.json: hidden_size: missing");
  j = tiny_a_config();
  j["num_key_value_heads"] = 3;
  EXPECT_NE(err(j).find("num_attention_heads (8) is not a multiple of num_key_value_heads (3)"),
            std::string::npos);
  j = tiny_a_config();
  j["layer_types"][1] = "global";
  EXPECT_NE(err(j).find("layer_types[1]"), std::string::npos);
  j = tiny_a_config();
  j["layer_types"].erase(0);
  EXPECT_NE(err(j).find("layer_types has 3 entries for 4 layers"), std::string::npos);
  j = tiny_a_config();
  j["intermediate_size"] = 100;
  EXPECT_NE(err(j).find("multiple of 32"), std::string::npos);
  j = tiny_a_config();
  j["num_hidden_layers"] = "4";
  EXPECT_NE(err(j).find("num_hidden_layers: expected a positive integer"), std::string::npos);
  j = tiny_a_config();
  j["model_type"] = "llama";
  EXPECT_NE(err(j).find("model_type"), std::string::npos);
  j = tiny_a_config();
  j["rope_scaling"]["rope_type"] = "linear";
  EXPECT_NE(err(j).find("rope_type"), std::string::npos);
  EXPECT_FALSE(parse_hf_config("[1]", "", "x").ok());
  EXPECT_FALSE(load_hf_config("/nonexistent-dir").ok());
}

TEST(Weights, OneListPerFormatWithUniqueNames) {
  const GptOssConfig c = testing::small_config();
  for (WeightFormat f : {WeightFormat::kHF, WeightFormat::kGguf, WeightFormat::kGgufFusedGateUp}) {
    std::set<std::string> names;
    size_t n = 0;
    for_each_tensor(c, f, [&](const WeightSpec& s) {
      names.insert(s.name);
      ++n;
    });
    EXPECT_EQ(names.size(), n);
    const size_t per_layer = f == WeightFormat::kHF ? 19 : f == WeightFormat::kGguf ? 19 : 17;
    EXPECT_EQ(n, 3 + c.n_layer * per_layer) << weight_format_name(f);
  }
}

TEST(Weights, BindErrorsNameTheTensor) {
  const GptOssConfig c = testing::small_config();
  auto bind_error = [&](testing::MemorySource& src) {
    auto w = bind_weights(c, src);
    EXPECT_FALSE(w.ok());
    return w.ok() ? std::string() : w.message();
  };
  {
    auto src = testing::synthetic_weights(c, WeightFormat::kHF, 1);
    src->remove("model.layers.2.self_attn.sinks");
    EXPECT_EQ(bind_error(*src),
              "synthetic-Hugging Face: missing tensor model.layers.2.self_attn.sinks "
              "(Hugging Face layout)");
  }
  {
    auto src = testing::synthetic_weights(c, WeightFormat::kHF, 1);
    src->mutable_find("model.layers.1.self_attn.k_proj.weight")->shape = {20, 32};
    EXPECT_NE(bind_error(*src).find("model.layers.1.self_attn.k_proj.weight (synthetic-Hugging "
                                    "Face at byte 0): expected shape [20, 64], found [20, 32]"),
              std::string::npos);
  }
  {
    auto src = testing::synthetic_weights(c, WeightFormat::kHF, 1);
    src->mutable_find("model.layers.0.mlp.experts.down_proj_scales")->dtype = formats::DType::kI8;
    EXPECT_NE(bind_error(*src).find("down_proj_scales (synthetic-Hugging Face at byte 0): "
                                    "expected dtype U8, found I8"),
              std::string::npos);
  }
  {
    auto src = testing::synthetic_weights(c, WeightFormat::kGguf, 1);
    src->mutable_find("output.weight")->dtype = formats::DType::kQ8_0;
    EXPECT_NE(bind_error(*src).find("output.weight"), std::string::npos);
  }
  {
    testing::MemorySource empty("nothing");
    EXPECT_NE(bind_error(empty).find("not a gpt-oss checkpoint"), std::string::npos);
  }
}

TEST(Weights, HfVectorsConvertedGgufF32InPlace) {
  const GptOssConfig c = testing::small_config();
  auto hf = testing::synthetic_weights(c, WeightFormat::kHF, 3);
  auto gg = testing::synthetic_weights(c, WeightFormat::kGguf, 3);
  auto whf = bind_weights(c, *hf);
  auto wgg = bind_weights(c, *gg);
  ASSERT_TRUE(whf.ok() && wgg.ok());
  // Interleaved HF bias split into gate/up; GGUF's F32 vectors used in place.
  const auto& xh = (*whf)->layers[1].experts[2];
  const auto& xg = (*wgg)->layers[1].experts[2];
  for (size_t i = 0; i < c.d_ff; ++i) {
    EXPECT_EQ(xh.gate_bias[i], xg.gate_bias[i]);
    EXPECT_EQ(xh.up_bias[i], xg.up_bias[i]);
  }
  EXPECT_EQ(reinterpret_cast<const uint8_t*>((*wgg)->layers[1].sinks),
            gg->find("blk.1.attn_sinks.weight")->data);
  EXPECT_EQ((*whf)->embed.data, hf->find("model.embed_tokens.weight")->data);
}

}  // namespace
}  // namespace quarry::model
