// The forward's op profile: attaching one changes no logit bit, every op of a
// decode step is counted the number of times the pass runs it, the weight
// bytes it reports are exactly the matrices that step reads (all dense ones,
// the routed experts only), and the multiply-adds exactly its products, for a
// decode step and for a prompt.
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
template <class M>
uint64_t macs_of(const M& w) {
  return w.n_rows * w.d_in;  // per token
}

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
  uint64_t qkv_macs = 0, o_macs = 0, router_macs = 0, gate_up_macs = 0, down_macs = 0;
  for (size_t l = 0; l < L; ++l) {
    const LayerWeights& lw = w.layers[l];
    qkv += bytes_of(lw.wq) + bytes_of(lw.wk) + bytes_of(lw.wv);
    qkv_macs += macs_of(lw.wq) + macs_of(lw.wk) + macs_of(lw.wv);
    o += bytes_of(lw.wo);
    o_macs += macs_of(lw.wo);
    router += bytes_of(lw.router);
    router_macs += macs_of(lw.router);
    ASSERT_EQ(with.experts[l].size(), c.n_expert_active) << "layer " << l;
    for (int32_t e : with.experts[l]) {
      gate_up += bytes_of(lw.experts[e].gate) + bytes_of(lw.experts[e].up);
      gate_up_macs += macs_of(lw.experts[e].gate) + macs_of(lw.experts[e].up);
      down += bytes_of(lw.experts[e].down);
      down_macs += macs_of(lw.experts[e].down);
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

  // One token: each matrix's rows x inputs; attention q.k and p.v over the
  // 3 cached positions (all inside the window) for every head.
  ASSERT_GE(c.sliding_window, 3u);
  EXPECT_EQ(p.at(Op::kQkv).macs, qkv_macs);
  EXPECT_EQ(p.at(Op::kAttnOut).macs, o_macs);
  EXPECT_EQ(p.at(Op::kRouter).macs, router_macs);
  EXPECT_EQ(p.at(Op::kExpertsGateUp).macs, gate_up_macs);
  EXPECT_EQ(p.at(Op::kExpertsDown).macs, down_macs);
  EXPECT_EQ(p.at(Op::kLmHead).macs, macs_of(w.lm_head));
  EXPECT_EQ(p.at(Op::kAttention).macs, L * 2 * 3 * c.n_head * c.d_head);
  for (Op op : {Op::kEmbed, Op::kNorm, Op::kRope, Op::kRouting, Op::kCombine}) {
    EXPECT_EQ(p.at(op).macs, 0u) << op_name(op);
  }
  for (const OpProfile::Entry& e : p.ops) EXPECT_GE(e.seconds, 0.0);
  EXPECT_GT(p.total_seconds(), 0.0);
}

// A prompt: every matrix product scales with its tokens (each token routed to
// n_expert_active experts), attention with the keys each position sees
// (the sliding window caps them), lm_head with the logit rows asked for.
TEST(OpProfile, CountsThePromptsMultiplyAdds) {
  GptOssConfig c = testing::small_config();
  c.sliding_window = 4;
  auto m = GptOssModel::create(c, testing::synthetic_weights(c, WeightFormat::kGguf, 5));
  ASSERT_TRUE(m.ok()) << m.message();
  const GptOssWeights& w = (*m)->weights();
  constexpr size_t n = 7;
  ThreadPool pool(2);
  GptOssForward fwd(**m, kernels::ref_ops(), pool);
  KvCache kv = fwd.make_cache(n);
  KvSequence seq;
  ASSERT_TRUE(kv.reserve(seq, n).ok());
  KvSequence* seqs[] = {&seq};
  std::vector<int32_t> ids(n), pos(n), sq(n, 0);
  for (size_t t = 0; t < n; ++t) {
    ids[t] = static_cast<int32_t>(3 * t + 1);
    pos[t] = static_cast<int32_t>(t);
  }
  const int32_t rows[] = {5, 6};
  std::vector<float> logits(2 * c.n_vocab);
  OpProfile p;
  fwd.set_profile(&p);
  ASSERT_TRUE(fwd.forward({ids, pos, sq, seqs, rows, logits.data()}, kv).ok());

  uint64_t qkv = 0, o = 0, router = 0, attention = 0;
  for (const LayerWeights& lw : w.layers) {
    qkv += macs_of(lw.wq) + macs_of(lw.wk) + macs_of(lw.wv);
    o += macs_of(lw.wo);
    router += macs_of(lw.router);
    for (size_t t = 0; t < n; ++t) {
      const size_t keys = lw.sliding ? std::min(t + 1, c.sliding_window) : t + 1;
      attention += 2 * keys * c.n_head * c.d_head;
    }
  }
  const uint64_t H = c.d_model, I = c.d_ff, K = c.n_expert_active;
  EXPECT_EQ(p.at(Op::kQkv).macs, n * qkv);
  EXPECT_EQ(p.at(Op::kAttnOut).macs, n * o);
  EXPECT_EQ(p.at(Op::kRouter).macs, n * router);
  EXPECT_EQ(p.at(Op::kExpertsGateUp).macs, c.n_layer * n * K * 2 * I * H);
  EXPECT_EQ(p.at(Op::kExpertsDown).macs, c.n_layer * n * K * H * I);
  EXPECT_EQ(p.at(Op::kAttention).macs, attention);
  EXPECT_EQ(p.at(Op::kLmHead).macs, 2 * macs_of(w.lm_head));
  EXPECT_EQ(p.total_macs(), n * (qkv + o + router) + c.n_layer * n * K * 3 * I * H + attention +
                                2 * macs_of(w.lm_head));
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
