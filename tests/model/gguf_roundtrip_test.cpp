// The tiny-a checkpoint rewritten as a llama.cpp-style GGUF file (names and
// layouts of spec §7: separate gate/up experts, ggml block_mxfp4, F32 vectors,
// gpt-oss.* metadata) loads through load_model() and computes bit-identical
// logits, so the GGUF path meets the golden exactly as the HF path does.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "formats/gguf_writer.h"
#include "kernels/numeric.h"
#include "model/generate.h"

namespace quarry::model {
namespace {

using formats::DType;
using formats::TensorInfo;

const std::string kTinyA = std::string(QUARRY_TEST_DATA) + "/gpt-oss-tiny/tiny-a";

void set_metadata(formats::GgufWriter& w, const GptOssConfig& c) {
  const std::string a = "gpt-oss.";
  w.set_string("general.architecture", "gpt-oss");
  w.set_u32(a + "block_count", static_cast<uint32_t>(c.n_layer));
  w.set_u32(a + "context_length", static_cast<uint32_t>(c.max_position));
  w.set_u32(a + "embedding_length", static_cast<uint32_t>(c.d_model));
  w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(c.d_ff));
  w.set_u32(a + "expert_feed_forward_length", static_cast<uint32_t>(c.d_ff));
  w.set_u32(a + "attention.head_count", static_cast<uint32_t>(c.n_head));
  w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(c.n_kv_head));
  w.set_u32(a + "attention.key_length", static_cast<uint32_t>(c.d_head));
  w.set_u32(a + "attention.value_length", static_cast<uint32_t>(c.d_head));
  w.set_f32(a + "attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  w.set_u32(a + "attention.sliding_window", static_cast<uint32_t>(c.sliding_window));
  w.set_u32(a + "expert_count", static_cast<uint32_t>(c.n_expert));
  w.set_u32(a + "expert_used_count", static_cast<uint32_t>(c.n_expert_active));
  w.set_f32(a + "rope.freq_base", static_cast<float>(c.rope_theta));
  w.set_string(a + "rope.scaling.type", "yarn");
  w.set_f32(a + "rope.scaling.factor", static_cast<float>(c.rope_factor));
  w.set_u32(a + "rope.scaling.original_context_length",
            static_cast<uint32_t>(c.rope_original_context));
  w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(c.bos_id));
  w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(c.eos_ids.at(0)));
}

// Element i of a BF16 HF tensor as f32 bytes.
void push_f32(std::vector<uint8_t>& out, const TensorInfo& t, size_t i) {
  uint16_t h;
  std::memcpy(&h, t.data + 2 * i, 2);
  const float f = kernels::bf16_to_f32(h);
  const auto* p = reinterpret_cast<const uint8_t*>(&f);
  out.insert(out.end(), p, p + 4);
}

// HF (blocks, scales) rows first, first + step, ... of each expert -> ggml blocks.
std::vector<uint8_t> ggml_rows(const TensorInfo& blocks, const TensorInfo& scales, size_t rows,
                               size_t first, size_t step) {
  const size_t E = blocks.shape[0], R = blocks.shape[1], G = blocks.shape[2];
  std::vector<uint8_t> out;
  for (size_t e = 0; e < E; ++e) {
    for (size_t r = 0; r < rows; ++r) {
      const size_t row = e * R + first + r * step;
      for (size_t g = 0; g < G; ++g) {
        const uint8_t* codes = blocks.data + (row * G + g) * 16;
        uint8_t c[32];
        for (int j = 0; j < 16; ++j) c[2 * j] = codes[j] & 15, c[2 * j + 1] = codes[j] >> 4;
        out.push_back(scales.data[row * G + g]);
        for (int j = 0; j < 16; ++j) out.push_back(static_cast<uint8_t>(c[j] | c[j + 16] << 4));
      }
    }
  }
  return out;
}

// Rewrites an HF-layout model as GGUF, walking the GGUF tensor list and
// taking each tensor from the HF tensor with the same role.
void write_gguf(const GptOssModel& hf, const std::string& path) {
  const GptOssConfig& c = hf.config();
  std::map<std::pair<int, TensorRole>, const TensorInfo*> by_role;
  for_each_tensor(c, WeightFormat::kHF, [&](const WeightSpec& s) {
    by_role[{s.layer, s.role}] = hf.source().find(s.name);
  });
  auto hf_t = [&](int l, TensorRole r) -> const TensorInfo& { return *by_role.at({l, r}); };
  formats::GgufWriter w;
  set_metadata(w, c);
  for_each_tensor(c, WeightFormat::kGguf, [&](const WeightSpec& s) {
    std::vector<uint8_t> bytes;
    const int l = s.layer;
    const size_t I = c.d_ff;
    switch (s.role) {
      case TensorRole::kGateExps:
      case TensorRole::kUpExps:
        bytes = ggml_rows(hf_t(l, TensorRole::kGateUpBlocks), hf_t(l, TensorRole::kGateUpScales), I,
                          s.role == TensorRole::kUpExps ? 1 : 0, 2);
        break;
      case TensorRole::kDownExps:
        bytes = ggml_rows(hf_t(l, TensorRole::kDownBlocks), hf_t(l, TensorRole::kDownScales),
                          c.d_model, 0, 1);
        break;
      case TensorRole::kGateExpsBias:
      case TensorRole::kUpExpsBias:
        for (size_t e = 0; e < c.n_expert; ++e) {
          for (size_t i = 0; i < I; ++i) {
            push_f32(bytes, hf_t(l, TensorRole::kGateUpBias),
                     e * 2 * I + 2 * i + (s.role == TensorRole::kUpExpsBias ? 1 : 0));
          }
        }
        break;
      default: {
        const TensorInfo& t = hf_t(l, s.role);
        if (s.kind == TensorKind::kVector) {
          for (size_t i = 0; i < t.numel(); ++i) push_f32(bytes, t, i);
        } else {
          bytes.assign(t.data, t.data + t.nbytes);
        }
      }
    }
    ASSERT_TRUE(w.add_tensor({s.name, s.dtype, s.shape}, bytes).ok()) << s.name;
  });
  ASSERT_TRUE(w.write(path).ok());
}

TEST(GgufRoundTrip, TinyAAsGgufGivesIdenticalLogits) {
  auto hf = load_model(kTinyA);
  ASSERT_TRUE(hf.ok()) << hf.message();
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("quarry_tiny_a_" + std::to_string(getpid()) + ".gguf"))
                               .string();
  write_gguf(**hf, path);
  auto gg = load_model(path);
  std::filesystem::remove(path);  // the mapping stays valid
  ASSERT_TRUE(gg.ok()) << gg.message();
  EXPECT_EQ((*gg)->weights().format, WeightFormat::kGguf);

  const GptOssConfig& a = (*hf)->config();
  const GptOssConfig& b = (*gg)->config();
  EXPECT_EQ(b.n_vocab, a.n_vocab);
  EXPECT_EQ(b.layer_sliding, a.layer_sliding);
  EXPECT_EQ(b.rope_truncate, false);
  EXPECT_EQ(b.d_head, a.d_head);

  ThreadPool pool(2);
  GptOssForward fa(**hf, kernels::ref_ops(), pool), fb(**gg, kernels::ref_ops(), pool);
  std::vector<int32_t> ids(40), pos(40);
  for (int32_t i = 0; i < 40; ++i) ids[i] = (i * 131 + 7) % static_cast<int32_t>(a.n_vocab);
  for (int32_t i = 0; i < 40; ++i) pos[i] = i;
  auto la = sequence_logits(fa, ids, pos);
  auto lb = sequence_logits(fb, ids, pos);
  ASSERT_TRUE(la.ok() && lb.ok());
  EXPECT_EQ(*la, *lb);
}

}  // namespace
}  // namespace quarry::model
