// The gpt-oss forward pass over a batch of tokens from one or more sequences.
// Each token carries its sequence and absolute position; keys and values are
// written to the KV cache and attention reads them back through each
// sequence's block table, so prefill, decode and mixed batches are one call.
#pragma once

#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/thread_pool.h"
#include "kernels/ops.h"
#include "model/gpt_oss_model.h"
#include "model/kv_cache.h"
#include "model/op_profile.h"

namespace quarry::model {

struct ForwardBatch {
  std::span<const int32_t> tokens;     // [n_tok] token ids
  std::span<const int32_t> positions;  // [n_tok] absolute positions
  std::span<const int32_t> seq;        // [n_tok] index into `sequences`
  std::span<KvSequence* const> sequences;
  // Tokens (indices into `tokens`) whose logits to write, in output order, into
  // logits[j * n_vocab ...]; logits may be null when none are requested.
  std::span<const int32_t> logit_rows;
  float* logits = nullptr;
};

// An intermediate activation handed to the debug hook: rows of `width` floats,
// one per token of the current chunk (`logits`: one per requested row).
// Names: embedding, L{n}.attn_norm, L{n}.q, L{n}.k (after RoPE), L{n}.v,
// L{n}.attn (heads before o_proj), L{n}.attn_out, L{n}.after_attention,
// L{n}.moe_norm, L{n}.router_logits, L{n}.router_experts (ids as floats),
// L{n}.router_weights, L{n}.moe_out, L{n}.after_layer, final_norm, logits.
struct Activation {
  std::string_view name;
  const float* data;
  size_t n_rows;
  size_t width;
};
using ActivationHook = std::function<void(const Activation&)>;

class GptOssForward {
 public:
  // Buffers for up to `max_chunk_tokens` tokens are allocated here, once;
  // larger batches run in chunks of that many tokens.
  GptOssForward(const GptOssModel& model, const kernels::Ops& ops, ThreadPool& pool,
                size_t max_chunk_tokens = 256);

  // Runs the batch. Within each sequence, tokens must come in increasing
  // position order, and every earlier position must already be in the cache or
  // earlier in this batch; each sequence must have reserved its positions.
  Status forward(const ForwardBatch& batch, KvCache& kv, const ActivationHook& hook = nullptr);

  // A cache sized for `n_positions` positions of `n_seq` sequences.
  KvCache make_cache(size_t n_positions, size_t n_seq = 1, size_t block_size = 32) const;

  const GptOssConfig& config() const { return c_; }

  // Adds the time and weight bytes of every op of later forward calls to
  // `profile` (null: stop). The timing costs two clock reads per op.
  void set_profile(OpProfile* profile) { profile_ = profile; }

 private:
  Status check(const ForwardBatch& b, const KvCache& kv) const;
  void run_chunk(const ForwardBatch& b, size_t t0, size_t t1, KvCache& kv,
                 const ActivationHook& hook);
  void attention_block(size_t l, const ForwardBatch& b, size_t t0, size_t n, KvCache& kv,
                       const ActivationHook& hook);
  void moe_block(size_t l, size_t n, const ActivationHook& hook);
  void unembed(const ForwardBatch& b, size_t t0, size_t t1, const ActivationHook& hook);

  // y = x W^T + b for several matrices at once, rows split over the pool.
  struct MatJob {
    const kernels::DenseMatrix* w;
    const float* bias;
    float* y;
    size_t ldy;
  };
  void matmuls(Op op, const float* x, size_t ldx, size_t n_tok, std::span<const MatJob> jobs);

  const GptOssConfig& c_;
  const GptOssWeights& w_;
  const kernels::Ops& ops_;
  ThreadPool& pool_;
  kernels::YarnRope rope_;
  size_t cap_;  // tokens per chunk
  OpProfile* profile_ = nullptr;

  // Activations, [cap][width] each (MoE buffers [cap * n_expert_active][width]).
  std::vector<float> x_, xn_, q_, k_, v_, attn_, tmp_, cos_, sin_;
  std::vector<float> router_logits_, route_w_;
  std::vector<int32_t> route_ids_;
  std::vector<float> moe_x_, moe_gate_, moe_up_, moe_y_;
  std::vector<int32_t> moe_row_;      // [cap * k]: row of (token, slot) in the grouped buffers
  std::vector<size_t> expert_count_;  // [n_expert]
  std::vector<size_t> expert_off_;    // [n_expert + 1]
  std::vector<size_t> active_;        // experts with tokens in this layer
  std::vector<size_t> cost_off_;      // [active + 1]: cost units before each active expert

  // Calls fn(expert, r0, r1) for the `rows` rows of every active expert,
  // spread over the pool by cost (see its definition in gpt_oss_forward.cpp).
  template <class F>
  void for_expert_rows(size_t rows, size_t work_per_unit, F&& fn);
};

}  // namespace quarry::model
