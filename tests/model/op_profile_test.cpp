// The forward's op profile: attaching one changes no logit bit, every op of a
// decode step is counted the number of times the pass runs it, and the weight
// bytes it reports are exactly the matrices that step reads (all dense ones,
// the routed experts only).
#include "model/op_profile.h"

#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "model/gpt_oss_forward.h"
#include "synthetic.h"

namespace quarry::model {
namespace {

uint64_t bytes_of(const kernels::DenseMatrix& w) {
  return w.n_rows * w.d_in * kernels::elem_size(w.type);
}
uint64_t bytes_of(const kernels::Mxfp4Matrix& w) { return w.n_rows * w.d_in / 32 * 17; }

struct Step {
  std::vector<float> logits;
  std::vector<std::set<int32_t>> experts;  // per layer, from the hook
};

// Prefills two tokens, then decodes one token with `profile` attached.
Step decode_one(const GptOssModel& m, OpProfile* profile) {
  ThreadPool pool(2);
  GptOssForward fwd(m, kernels::ref_ops(), pool);
  const GptOssConfig& c = m.config();
  KvCache kv = fwd.make_cache(3);
  KvSequence seq;
  EXPECT_TRUE(kv.reserve(seq, 3).ok());
  KvSequence* seqs[] = {&seq};
  Step out;
  out.logits.resize(c.n_vocab);
  const int32_t prompt[] = {5, 9}, pos01[] = {0, 1}, sq2[] = {0, 0}, last[] = {1};
  EXPECT_TRUE(fwd.forward({prompt, pos01, sq2, seqs, last, out.logits.data()}, kv).ok());

  out.experts.resize(c.n_layer);
  auto hook = [&](const Activation& a) {
    const std::string name(a.name);
    const auto dot = name.find('.');
    if (dot == std::string::npos || name.substr(dot + 1) != "router_experts") return;
    const size_t l = std::stoul(name.substr(1, dot - 1));
    for (size_t i = 0; i < a.width; ++i) out.experts[l].insert(static_cast<int32_t>(a.data[i]));
  };
  fwd.set_profile(profile);
  const int32_t tok[] = {17}, pos[] = {2}, sq[] = {0}, row[] = {0};
  EXPECT_TRUE(fwd.forward({tok, pos, sq, seqs, row, out.logits.data()}, kv, hook).ok());
  fwd.set_profile(nullptr);
  // Detached: a further call adds nothing.
  EXPECT_TRUE(kv.reserve(seq, 4).ok());
  const int32_t pos3[] = {3};
  EXPECT_TRUE(fwd.forward({tok, pos3, sq, seqs, {}, nullptr}, kv).ok());
  return out;
}

TEST(OpProfile, CountsEveryOpAndTheWeightBytesOfOneDecodeStep) {
  const GptOssConfig c = testing::small_config();
  auto m = GptOssModel::create(c, testing::synthetic_weights(c, WeightFormat::kHF, 3));
  ASSERT_TRUE(m.ok()) << m.message();
  const GptOssWeights& w = (*m)->weights();

  OpProfile p;
  const Step with = decode_one(**m, &p);
  const Step without = decode_one(**m, nullptr);
  EXPECT_EQ(with.logits, without.logits);  // bit for bit

  EXPECT_EQ(p.forward_calls, 1u);
  const uint64_t L = c.n_layer;
  EXPECT_EQ(p.at(Op::kEmbed).calls, 1u);
  EXPECT_EQ(p.at(Op::kNorm).calls, 2 * L + 1);
  EXPECT_EQ(p.at(Op::kLmHead).calls, 1u);
  for (Op op : {Op::kQkv, Op::kRope, Op::kAttention, Op::kRouter, Op::kRouting, Op::kExpertsGateUp,
                Op::kExpertsDown, Op::kCombine}) {
    EXPECT_EQ(p.at(op).calls, L) << op_name(op);
  }
  EXPECT_EQ(p.at(Op::kAttnOut).calls, 2 * L);  // the matmul, then the residual add

  uint64_t qkv = 0, o = 0, router = 0, gate_up = 0, down = 0;
  for (size_t l = 0; l < L; ++l) {
    const LayerWeights& lw = w.layers[l];
    qkv += bytes_of(lw.wq) + bytes_of(lw.wk) + bytes_of(lw.wv);
    o += bytes_of(lw.wo);
    router += bytes_of(lw.router);
    ASSERT_EQ(with.experts[l].size(), c.n_expert_active) << "layer " << l;
    for (int32_t e : with.experts[l]) {
      gate_up += bytes_of(lw.experts[e].gate) + bytes_of(lw.experts[e].up);
      down += bytes_of(lw.experts[e].down);
    }
  }
  EXPECT_EQ(p.at(Op::kQkv).weight_bytes, qkv);
  EXPECT_EQ(p.at(Op::kAttnOut).weight_bytes, o);
  EXPECT_EQ(p.at(Op::kRouter).weight_bytes, router);
  EXPECT_EQ(p.at(Op::kExpertsGateUp).weight_bytes, gate_up);
  EXPECT_EQ(p.at(Op::kExpertsDown).weight_bytes, down);
  EXPECT_EQ(p.at(Op::kLmHead).weight_bytes, bytes_of(w.lm_head));
  for (Op op : {Op::kEmbed, Op::kNorm, Op::kRope, Op::kAttention, Op::kRouting, Op::kCombine}) {
    EXPECT_EQ(p.at(op).weight_bytes, 0u) << op_name(op);
  }
  EXPECT_EQ(p.total_weight_bytes(), qkv + o + router + gate_up + down + bytes_of(w.lm_head));
  for (const OpProfile::Entry& e : p.ops) EXPECT_GE(e.seconds, 0.0);
  EXPECT_GT(p.total_seconds(), 0.0);
}

TEST(OpProfile, EveryOpHasAName) {
  std::set<std::string> names;
  for (size_t i = 0; i < static_cast<size_t>(Op::kCount); ++i) {
    const std::string n = op_name(static_cast<Op>(i));
    EXPECT_NE(n, "?");
    names.insert(n);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(Op::kCount));
}

}  // namespace
}  // namespace quarry::model
