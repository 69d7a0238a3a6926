// The forward pass on synthetic in-memory weights: the same logical weights in
// every naming scheme give bit-identical logits, and batching, chunking,
// decoding token by token, interleaving sequences and the thread count do not
// change a single bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "model/gpt_oss_forward.h"
#include "synthetic.h"

namespace quarry::model {
namespace {

using testing::small_config;
using testing::synthetic_weights;

std::unique_ptr<GptOssModel> make_model(WeightFormat f, uint32_t seed = 7) {
  auto m = GptOssModel::create(small_config(), synthetic_weights(small_config(), f, seed));
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.message());
  return std::move(m.value());
}

std::vector<int32_t> sample_ids(size_t n, size_t vocab, uint32_t salt = 0) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 37 + 11 + salt * 101) % vocab);
  return ids;
}

// Logits at every position of one sequence, in one forward call.
std::vector<float> all_logits(const GptOssModel& m, const std::vector<int32_t>& ids,
                              ThreadPool& pool, size_t chunk = 256) {
  GptOssForward fwd(m, kernels::ref_ops(), pool, chunk);
  KvCache kv = fwd.make_cache(ids.size(), 1, 4);
  KvSequence seq;
  EXPECT_TRUE(kv.reserve(seq, ids.size()).ok());
  std::vector<int32_t> pos(ids.size()), sq(ids.size(), 0);
  std::iota(pos.begin(), pos.end(), 0);
  std::vector<int32_t> rows = pos;
  std::vector<float> logits(ids.size() * m.config().n_vocab);
  KvSequence* seqs[] = {&seq};
  ForwardBatch b{ids, pos, sq, seqs, rows, logits.data()};
  EXPECT_TRUE(fwd.forward(b, kv).ok());
  return logits;
}

TEST(ForwardSynthetic, SameLogitsForHfGgufAndFusedGguf) {
  ThreadPool pool(2);
  const auto ids = sample_ids(9, small_config().n_vocab);
  const auto hf = all_logits(*make_model(WeightFormat::kHF), ids, pool);
  const auto gg = all_logits(*make_model(WeightFormat::kGguf), ids, pool);
  const auto fu = all_logits(*make_model(WeightFormat::kGgufFusedGateUp), ids, pool);
  EXPECT_EQ(hf, gg);
  EXPECT_EQ(hf, fu);
  for (float v : hf) ASSERT_TRUE(std::isfinite(v));
  // A different seed gives different logits (the comparison above is not vacuous).
  EXPECT_NE(hf, all_logits(*make_model(WeightFormat::kHF, 8), ids, pool));
}

TEST(ForwardSynthetic, ChunkingAndThreadCountDoNotChangeBits) {
  auto m = make_model(WeightFormat::kHF);
  const auto ids = sample_ids(11, m->config().n_vocab);
  ThreadPool one(1), three(3);
  const auto base = all_logits(*m, ids, one);
  EXPECT_EQ(base, all_logits(*m, ids, three));
  EXPECT_EQ(base, all_logits(*m, ids, three, 3));
  EXPECT_EQ(base, all_logits(*m, ids, one, 1));
}

TEST(ForwardSynthetic, DecodeTokenByTokenMatchesPrefill) {
  auto m = make_model(WeightFormat::kHF);
  const size_t V = m->config().n_vocab;
  const auto ids = sample_ids(10, V);
  ThreadPool pool(2);
  const auto full = all_logits(*m, ids, pool);
  GptOssForward fwd(*m, kernels::ref_ops(), pool);
  KvCache kv = fwd.make_cache(ids.size(), 1, 4);
  KvSequence seq;
  KvSequence* seqs[] = {&seq};
  std::vector<float> out(V);
  for (size_t p = 0; p < ids.size(); ++p) {
    ASSERT_TRUE(kv.reserve(seq, p + 1).ok());
    const int32_t tok[] = {ids[p]}, pos[] = {static_cast<int32_t>(p)}, sq[] = {0}, row[] = {0};
    ASSERT_TRUE(fwd.forward({tok, pos, sq, seqs, row, out.data()}, kv).ok());
    EXPECT_TRUE(std::equal(out.begin(), out.end(), full.begin() + p * V)) << "position " << p;
  }
}

TEST(ForwardSynthetic, InterleavedSequencesInOneBatch) {
  auto m = make_model(WeightFormat::kGguf);
  const size_t V = m->config().n_vocab;
  ThreadPool pool(2);
  const auto a = sample_ids(7, V, 1), b = sample_ids(5, V, 2);
  const auto la = all_logits(*m, a, pool), lb = all_logits(*m, b, pool);

  GptOssForward fwd(*m, kernels::ref_ops(), pool, 4);
  KvCache kv = fwd.make_cache(8, 2, 2);
  KvSequence sa, sb;
  ASSERT_TRUE(kv.reserve(sa, a.size()).ok());
  ASSERT_TRUE(kv.reserve(sb, b.size()).ok());
  KvSequence* seqs[] = {&sa, &sb};
  // b's tokens interleaved between a's; ask for a few rows in a custom order.
  std::vector<int32_t> tok, pos, sq;
  for (size_t i = 0; i < a.size(); ++i) {
    tok.push_back(a[i]), pos.push_back(static_cast<int32_t>(i)), sq.push_back(0);
    if (i < b.size()) tok.push_back(b[i]), pos.push_back(static_cast<int32_t>(i)), sq.push_back(1);
  }
  // Batch rows: a0 b0 a1 b1 a2 b2 a3 b3 a4 b4 a5 a6
  const std::vector<int32_t> rows = {11, 1, 9, 0, 1};
  std::vector<float> out(rows.size() * V);
  ASSERT_TRUE(fwd.forward({tok, pos, sq, seqs, rows, out.data()}, kv).ok());
  auto row_of = [&](const std::vector<float>& l, size_t p) { return l.begin() + p * V; };
  EXPECT_TRUE(std::equal(out.begin(), out.begin() + V, row_of(la, 6)));
  EXPECT_TRUE(std::equal(out.begin() + V, out.begin() + 2 * V, row_of(lb, 0)));
  EXPECT_TRUE(std::equal(out.begin() + 2 * V, out.begin() + 3 * V, row_of(lb, 4)));
  EXPECT_TRUE(std::equal(out.begin() + 3 * V, out.begin() + 4 * V, row_of(la, 0)));
  EXPECT_TRUE(std::equal(out.begin() + 4 * V, out.begin() + 5 * V, row_of(lb, 0)));
}

TEST(ForwardSynthetic, HookSeesEveryStableName) {
  auto m = make_model(WeightFormat::kHF);
  ThreadPool pool(1);
  GptOssForward fwd(*m, kernels::ref_ops(), pool);
  const auto ids = sample_ids(4, m->config().n_vocab);
  KvCache kv = fwd.make_cache(4);
  KvSequence seq;
  ASSERT_TRUE(kv.reserve(seq, 4).ok());
  KvSequence* seqs[] = {&seq};
  const int32_t pos[] = {0, 1, 2, 3}, sq[] = {0, 0, 0, 0}, rows[] = {3};
  std::vector<float> out(m->config().n_vocab);
  std::vector<std::string> names;
  auto hook = [&](const Activation& a) {
    names.emplace_back(a.name);
    EXPECT_EQ(a.n_rows, a.name == "logits" ? 1u : 4u) << a.name;
  };
  ASSERT_TRUE(fwd.forward({ids, pos, sq, seqs, rows, out.data()}, kv, hook).ok());
  for (const char* want : {"embedding", "L0.attn_norm", "L0.q", "L0.k", "L0.v", "L0.attn",
                           "L0.attn_out", "L0.after_attention", "L0.moe_norm", "L0.router_logits",
                           "L0.router_experts", "L0.router_weights", "L0.moe_out", "L0.after_layer",
                           "L2.after_layer", "final_norm", "logits"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
}

TEST(ForwardSynthetic, RejectsBadBatches) {
  auto m = make_model(WeightFormat::kHF);
  ThreadPool pool(1);
  GptOssForward fwd(*m, kernels::ref_ops(), pool);
  KvCache kv = fwd.make_cache(4);
  KvSequence seq;
  ASSERT_TRUE(kv.reserve(seq, 2).ok());
  KvSequence* seqs[] = {&seq};
  std::vector<float> out(m->config().n_vocab);
  const int32_t sq[] = {0}, row[] = {0};
  const int32_t bad_tok[] = {static_cast<int32_t>(m->config().n_vocab)}, pos0[] = {0};
  auto s = fwd.forward({bad_tok, pos0, sq, seqs, row, out.data()}, kv);
  EXPECT_NE(s.message().find("outside the vocabulary"), std::string::npos) << s.message();
  const int32_t tok[] = {1}, far[] = {1000};  // beyond the reserved blocks
  s = fwd.forward({tok, far, sq, seqs, row, out.data()}, kv);
  EXPECT_NE(s.message().find("not reserved"), std::string::npos) << s.message();
  const int32_t bad_row[] = {1};
  s = fwd.forward({tok, pos0, sq, seqs, bad_row, out.data()}, kv);
  EXPECT_NE(s.message().find("logit row"), std::string::npos) << s.message();
  ASSERT_TRUE(kv.has_window_group());
  const int32_t kept = seq.window_blocks[0];
  seq.window_blocks[0] = -1;  // dropped, yet position 0 reads it
  s = fwd.forward({tok, pos0, sq, seqs, row, out.data()}, kv);
  EXPECT_NE(s.message().find("dropped sliding-window block"), std::string::npos) << s.message();
  seq.window_blocks[0] = kept;
  // A cache whose window group holds a full-attention layer (layer 1).
  KvCache wrong(3, m->config().kv_width(), 32, 4, {false, true, false});
  KvSequence ws;
  ASSERT_TRUE(wrong.reserve(ws, 2).ok());
  KvSequence* wseqs[] = {&ws};
  s = fwd.forward({tok, pos0, sq, wseqs, row, out.data()}, wrong);
  EXPECT_NE(s.message().find("full-attention layer"), std::string::npos) << s.message();
}

TEST(KvCache, ReserveReleaseAndFullPool) {
  KvCache kv(2, 8, 4, 3);
  KvSequence a, b;
  EXPECT_TRUE(kv.reserve(a, 5).ok());  // 2 blocks
  EXPECT_EQ(a.blocks.size(), 2u);
  EXPECT_EQ(kv.capacity(a), 8u);
  EXPECT_EQ(kv.free_blocks(), 1u);
  auto s = kv.reserve(b, 8);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("KV cache full"), std::string::npos);
  EXPECT_TRUE(b.blocks.empty());
  kv.release(a);
  EXPECT_EQ(kv.free_blocks(), 3u);
  EXPECT_TRUE(kv.reserve(b, 12).ok());
  kv.k_row(1, b, 11)[7] = 3.0f;
  EXPECT_EQ(kv.layer_view(1, b).k[kv.layer_view(1, b).row_offset(11) + 7], 3.0f);
}

TEST(KvCache, WindowGroupHasItsOwnTableAndHalfSizedBlocks) {
  const std::vector<bool> sliding = {true, false, true, false};
  EXPECT_TRUE(KvCache::has_window_group(4, sliding));
  EXPECT_FALSE(KvCache::has_window_group(4, {true, true, true, true}));
  EXPECT_FALSE(KvCache::has_window_group(4, {}));
  EXPECT_EQ(KvCache::layers_per_block(4, sliding), 2u);
  EXPECT_EQ(KvCache::layers_per_block(3, {true, false, true}), 2u);
  EXPECT_EQ(KvCache::layers_per_block(4, {}), 4u);

  KvCache kv(4, 8, 4, 6, sliding);
  EXPECT_EQ(kv.block_bytes(), 2u * 2u * 4u * 8u * sizeof(float));
  EXPECT_TRUE(kv.is_window_layer(0));
  EXPECT_FALSE(kv.is_window_layer(1));
  KvSequence a;
  ASSERT_TRUE(kv.reserve(a, 5).ok());  // 2 blocks in each table
  EXPECT_EQ(a.blocks.size(), 2u);
  EXPECT_EQ(a.window_blocks.size(), 2u);
  EXPECT_EQ(kv.capacity(a), 8u);
  EXPECT_EQ(kv.free_blocks(), 2u);
  KvSequence b;
  EXPECT_FALSE(kv.reserve(b, 5).ok());  // needs 4
  // Full layers read through `blocks`, window layers through `window_blocks`;
  // layers 0 and 1 share slot 0 of different blocks.
  kv.k_row(0, a, 6)[3] = 1.0f;
  kv.k_row(1, a, 6)[3] = 2.0f;
  EXPECT_EQ(kv.layer_view(0, a).block_table, a.window_blocks.data());
  EXPECT_EQ(kv.layer_view(1, a).block_table, a.blocks.data());
  EXPECT_EQ(kv.layer_view(0, a).k[kv.layer_view(0, a).row_offset(6) + 3], 1.0f);
  EXPECT_EQ(kv.layer_view(1, a).k[kv.layer_view(1, a).row_offset(6) + 3], 2.0f);
  // A dropped window entry is skipped on release.
  a.window_blocks[0] = -1;
  kv.release(a);
  EXPECT_EQ(kv.free_blocks(), 5u);
}

}  // namespace
}  // namespace quarry::model
