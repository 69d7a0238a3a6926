// The whole gpt-oss forward pass (spec §4), in exact mode: fp32 activations
// and accumulation, weights read in place. Shapes in comments use
// n (tokens in the chunk), H = d_model, Q = n_head d_head, KV = n_kv_head d_head,
// E = n_expert, K = n_expert_active, I = d_ff, V = n_vocab.
//
// Every kernel goes through the op table; every parallel loop is a static
// split over the thread pool in which each output element has one owner and a
// fixed summation order, so results do not depend on the thread count.
#include "model/gpt_oss_forward.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

namespace quarry::model {
namespace {

// "L{l}.{what}" (built with snprintf: GCC 12's -Wrestrict misfires on the
// equivalent string concatenation at -O3).
std::string layer_name(size_t l, const char* what) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "L%zu.%s", l, what);
  return buf;
}

// The smallest piece of work (multiply-adds) worth handing to another thread;
// smaller loops run on the caller. Passed to parallel_for as a grain in items.
constexpr size_t kMinChunkWork = 1 << 15;
size_t grain(size_t work_per_item) {
  return std::max<size_t>(1, kMinChunkWork / std::max<size_t>(1, work_per_item));
}

// Bytes of a matrix as its kernels stream them (for the op profile).
uint64_t matrix_bytes(const kernels::DenseMatrix& w) {
  const uint64_t scales = w.type == kernels::ElemType::kQ8 ? w.d_in / 32 * sizeof(float) : 0;
  return w.n_rows * (w.d_in * kernels::elem_size(w.type) + scales);
}
uint64_t matrix_bytes(const kernels::Mxfp4Matrix& w) { return w.n_rows * w.n_blocks() * 17; }

}  // namespace

// A row of an expert with m tokens costs m + 1 units: decoding the row's
// MXFP4 weights costs about as much as one token's products (avx2_fast,
// bench/README.md). Splitting by cost rather than by rows keeps both threads
// equally busy when the experts' token counts differ (batched decode: one to
// four tokens each). Units are assigned to threads in contiguous ranges; a
// row goes to the thread whose range holds its first unit.
template <class F>
void GptOssForward::for_expert_rows(size_t rows, size_t work_per_unit, F&& fn) {
  const std::vector<size_t>& active = active_;
  cost_off_.resize(active.size() + 1);
  cost_off_[0] = 0;
  for (size_t j = 0; j < active.size(); ++j) {
    const size_t m = expert_off_[active[j] + 1] - expert_off_[active[j]];
    cost_off_[j + 1] = cost_off_[j] + rows * (m + 1);
  }
  pool_.parallel_for(cost_off_.back(), grain(work_per_unit), [&](size_t b0, size_t e0) {
    size_t j = std::upper_bound(cost_off_.begin(), cost_off_.end(), b0) - cost_off_.begin() - 1;
    for (; j < active.size() && cost_off_[j] < e0; ++j) {
      const size_t e = active[j], base = cost_off_[j];
      const size_t c = expert_off_[e + 1] - expert_off_[e] + 1;
      // Rows r with b0 <= base + r c < e0.
      const size_t r0 = b0 > base ? (b0 - base + c - 1) / c : 0;
      const size_t r1 = std::min(rows, (e0 - base + c - 1) / c);
      if (r0 < r1) fn(e, r0, r1);
    }
  });
}

GptOssForward::GptOssForward(const GptOssModel& model, const kernels::Ops& ops, ThreadPool& pool,
                             size_t max_chunk_tokens)
    : c_(model.config()),
      w_(model.weights()),
      ops_(ops),
      pool_(pool),
      rope_(c_.yarn()),
      cap_(std::max<size_t>(1, max_chunk_tokens)) {
  const size_t T = cap_, H = c_.d_model, Q = c_.q_width(), KV = c_.kv_width();
  const size_t E = c_.n_expert, K = c_.n_expert_active, I = c_.d_ff;
  x_.resize(T * H);
  xn_.resize(T * H);
  q_.resize(T * Q);
  k_.resize(T * KV);
  v_.resize(T * KV);
  attn_.resize(T * Q);
  tmp_.resize(T * H);
  cos_.resize(T * rope_.half());
  sin_.resize(T * rope_.half());
  router_logits_.resize(T * E);
  route_w_.resize(T * K);
  route_ids_.resize(T * K);
  moe_x_.resize(T * K * H);
  moe_gate_.resize(T * K * I);
  moe_up_.resize(T * K * I);
  moe_y_.resize(T * K * H);
  moe_row_.resize(T * K);
  expert_count_.resize(E);
  expert_off_.resize(E + 1);
  active_.reserve(E);
}

KvCache GptOssForward::make_cache(size_t n_positions, size_t n_seq, size_t block_size) const {
  const size_t per_seq = (n_positions + block_size - 1) / block_size;
  const size_t tables = KvCache::has_window_group(c_.n_layer, c_.layer_sliding) ? 2 : 1;
  return KvCache(c_.n_layer, c_.kv_width(), block_size,
                 std::max<size_t>(1, per_seq * n_seq * tables), c_.layer_sliding);
}

Status GptOssForward::check(const ForwardBatch& b, const KvCache& kv) const {
  const size_t n = b.tokens.size();
  auto fail = [](std::string m) { return Status(make_error("forward: " + std::move(m))); };
  if (b.positions.size() != n || b.seq.size() != n) {
    return fail("tokens, positions and seq must have the same length");
  }
  if (kv.n_layer() != c_.n_layer || kv.row_width() != c_.kv_width()) {
    return fail("the KV cache was made for another model shape");
  }
  for (size_t l = 0; l < c_.n_layer; ++l) {
    if (kv.is_window_layer(l) && !c_.layer_sliding[l]) {
      return fail("the KV cache drops blocks of layer " + std::to_string(l) +
                  ", a full-attention layer");
    }
  }
  auto at = [](size_t t) { return "token " + std::to_string(t) + ": "; };
  for (size_t t = 0; t < n; ++t) {
    if (b.tokens[t] < 0 || static_cast<size_t>(b.tokens[t]) >= c_.n_vocab) {
      return fail(at(t) + "id " + std::to_string(b.tokens[t]) + " is outside the vocabulary (" +
                  std::to_string(c_.n_vocab) + ")");
    }
    if (b.seq[t] < 0 || static_cast<size_t>(b.seq[t]) >= b.sequences.size() ||
        b.sequences[b.seq[t]] == nullptr) {
      return fail(at(t) + "sequence index " + std::to_string(b.seq[t]) + " is out of range");
    }
    if (b.positions[t] < 0 ||
        static_cast<size_t>(b.positions[t]) >= kv.capacity(*b.sequences[b.seq[t]])) {
      return fail(at(t) + "position " + std::to_string(b.positions[t]) +
                  " is not reserved in its sequence's KV blocks");
    }
    if (kv.has_window_group()) {
      // Window tables may drop blocks, but not those this token reads.
      const auto p = static_cast<size_t>(b.positions[t]);
      const size_t first = p + 1 > c_.sliding_window ? p + 1 - c_.sliding_window : 0;
      const std::vector<int32_t>& wt = b.sequences[b.seq[t]]->window_blocks;
      for (size_t i = first / kv.block_size(); i <= p / kv.block_size(); ++i) {
        if (wt[i] < 0 || static_cast<size_t>(wt[i]) >= kv.n_blocks()) {
          return fail(at(t) + "position " + std::to_string(p) +
                      " reads a dropped sliding-window block");
        }
      }
    }
  }
  for (int32_t r : b.logit_rows) {
    if (r < 0 || static_cast<size_t>(r) >= n) {
      return fail("logit row " + std::to_string(r) + " is not a token of the batch");
    }
  }
  if (!b.logit_rows.empty() && b.logits == nullptr) return fail("no logits buffer");
  return Status::Ok();
}

Status GptOssForward::forward(const ForwardBatch& b, KvCache& kv, const ActivationHook& hook) {
  if (Status s = check(b, kv); !s.ok()) return s;
  if (profile_ != nullptr) ++profile_->forward_calls;
  for (size_t t0 = 0; t0 < b.tokens.size(); t0 += cap_) {
    run_chunk(b, t0, std::min(b.tokens.size(), t0 + cap_), kv, hook);
  }
  return Status::Ok();
}

void GptOssForward::matmuls(Op op, const float* x, size_t ldx, size_t n_tok,
                            std::span<const MatJob> jobs) {
  size_t total = 0;
  uint64_t bytes = 0, macs = 0;
  for (const MatJob& j : jobs) {
    total += j.w->n_rows;
    if (profile_ != nullptr) {
      bytes += matrix_bytes(*j.w);
      macs += uint64_t{j.w->n_rows} * j.w->d_in * n_tok;
    }
  }
  const OpTimer timer(profile_, op, bytes, macs);
  const size_t d_in = jobs.empty() ? 0 : jobs[0].w->d_in;
  pool_.parallel_for(total, grain(n_tok * d_in), [&](size_t b, size_t e) {
    size_t start = 0;
    for (const MatJob& j : jobs) {
      const size_t end = start + j.w->n_rows;
      const size_t lo = std::max(b, start), hi = std::min(e, end);
      if (lo < hi) {
        const size_t r0 = lo - start, r1 = hi - start;
        kernels::matmul(ops_, x, ldx, n_tok, j.w->rows(r0, r1),
                        j.bias != nullptr ? j.bias + r0 : nullptr, j.y + r0, j.ldy);
      }
      start = end;
    }
  });
}

void GptOssForward::run_chunk(const ForwardBatch& b, size_t t0, size_t t1, KvCache& kv,
                              const ActivationHook& hook) {
  const size_t n = t1 - t0, H = c_.d_model, half = rope_.half();
  std::optional<OpTimer> embed_timer(std::in_place, profile_, Op::kEmbed);
  // x[t] = Emb[token_t]                                   x: [n, H]
  for (size_t t = 0; t < n; ++t) {
    kernels::dense_row_to_f32(ops_, w_.embed, static_cast<size_t>(b.tokens[t0 + t]),
                              x_.data() + t * H);
  }
  if (hook) hook({"embedding", x_.data(), n, H});
  // cos/sin of every token's position (fp64 angles), shared by all layers.
  for (size_t t = 0; t < n; ++t) {
    rope_.cos_sin(b.positions[t0 + t], cos_.data() + t * half, sin_.data() + t * half);
  }
  embed_timer.reset();
  for (size_t l = 0; l < c_.n_layer; ++l) {
    attention_block(l, b, t0, n, kv, hook);
    moe_block(l, n, hook);
  }
  unembed(b, t0, t1, hook);
}

// x += Wo attention(rope(q), rope(k), v) with q, k, v from rmsnorm(x).
void GptOssForward::attention_block(size_t l, const ForwardBatch& b, size_t t0, size_t n,
                                    KvCache& kv, const ActivationHook& hook) {
  const LayerWeights& L = w_.layers[l];
  const size_t H = c_.d_model, Q = c_.q_width(), KV = c_.kv_width(), half = rope_.half();
  auto emit = [&](const char* what, const float* p, size_t width) {
    if (hook) hook({layer_name(l, what), p, n, width});
  };

  // xn = rmsnorm(x) g                                      xn: [n, H]
  {
    const OpTimer timer(profile_, Op::kNorm);
    pool_.parallel_for(n, grain(H), [&](size_t b0, size_t e0) {
      ops_.rmsnorm_f32(x_.data() + b0 * H, e0 - b0, H, L.attn_norm, c_.rms_norm_eps,
                       xn_.data() + b0 * H);
    });
  }
  emit("attn_norm", xn_.data(), H);

  // q = xn Wq^T + bq, k = xn Wk^T + bk, v = xn Wv^T + bv  q: [n, Q]; k, v: [n, KV]
  const MatJob qkv[] = {
      {&L.wq, L.bq, q_.data(), Q}, {&L.wk, L.bk, k_.data(), KV}, {&L.wv, L.bv, v_.data(), KV}};
  matmuls(Op::kQkv, xn_.data(), H, n, qkv);

  // RoPE (half-split pairs, YaRN) on q and k at each token's position.
  std::optional<OpTimer> rope_timer(std::in_place, profile_, Op::kRope);
  pool_.parallel_for(n, grain(Q + KV), [&](size_t b0, size_t e0) {
    for (size_t t = b0; t < e0; ++t) {
      const float* cs = cos_.data() + t * half;
      const float* sn = sin_.data() + t * half;
      ops_.rope_yarn_f32(q_.data() + t * Q, c_.n_head, c_.d_head, cs, sn);
      ops_.rope_yarn_f32(k_.data() + t * KV, c_.n_kv_head, c_.d_head, cs, sn);
    }
  });
  emit("q", q_.data(), Q);
  emit("k", k_.data(), KV);
  emit("v", v_.data(), KV);

  // Append k, v to each token's sequence in the cache.
  for (size_t t = 0; t < n; ++t) {
    const KvSequence& s = *b.sequences[b.seq[t0 + t]];
    const size_t pos = static_cast<size_t>(b.positions[t0 + t]);
    std::memcpy(kv.k_row(l, s, pos), k_.data() + t * KV, KV * sizeof(float));
    std::memcpy(kv.v_row(l, s, pos), v_.data() + t * KV, KV * sizeof(float));
  }
  rope_timer.reset();

  // attn[t][h] = softmax-with-sink over the allowed keys  attn: [n, Q]
  kernels::AttentionShape shape;
  shape.n_head = c_.n_head;
  shape.n_kv_head = c_.n_kv_head;
  shape.d_head = c_.d_head;
  shape.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c_.d_head)));
  shape.window = L.sliding ? c_.sliding_window : 0;
  const size_t nh = c_.n_head;
  size_t max_keys = 0;  // keys read by the last token, for the grain
  uint64_t keys = 0;    // keys read by all the tokens, for the profile
  for (size_t t = 0; t < n; ++t) {
    const size_t p = static_cast<size_t>(b.positions[t0 + t]) + 1;
    const size_t k = shape.window > 0 ? std::min(p, shape.window) : p;
    max_keys = std::max(max_keys, k);
    keys += k;
  }
  // q.k and p.v: 2 d_head multiply-adds per head and key.
  std::optional<OpTimer> attention_timer(std::in_place, profile_, Op::kAttention, 0,
                                         2 * keys * nh * c_.d_head);
  pool_.parallel_for(n * nh, grain(2 * max_keys * c_.d_head), [&](size_t b0, size_t e0) {
    for (size_t i = b0; i < e0;) {
      const size_t t = i / nh, h0 = i % nh, h1 = std::min(nh, h0 + (e0 - i));
      const KvSequence& s = *b.sequences[b.seq[t0 + t]];
      ops_.attention_sink_swa_f32(q_.data() + t * Q, kv.layer_view(l, s),
                                  static_cast<size_t>(b.positions[t0 + t]), L.sinks, shape, h0, h1,
                                  attn_.data() + t * Q);
      i += h1 - h0;
    }
  });
  attention_timer.reset();
  emit("attn", attn_.data(), Q);

  // x += attn Wo^T + bo                                   tmp: [n, H]
  const MatJob o[] = {{&L.wo, L.bo, tmp_.data(), H}};
  matmuls(Op::kAttnOut, attn_.data(), Q, n, o);
  emit("attn_out", tmp_.data(), H);
  {
    const OpTimer timer(profile_, Op::kAttnOut);
    ops_.axpy_f32(1.0f, tmp_.data(), n * H, x_.data());
  }
  emit("after_attention", x_.data(), H);
}

// x += sum_j w_j expert_{e_j}(u), u = rmsnorm(x), (e_j, w_j) = top-k softmax of the router.
void GptOssForward::moe_block(size_t l, size_t n, const ActivationHook& hook) {
  const LayerWeights& L = w_.layers[l];
  const size_t H = c_.d_model, E = c_.n_expert, K = c_.n_expert_active, I = c_.d_ff;
  auto emit = [&](const char* what, const float* p, size_t width) {
    if (hook) hook({layer_name(l, what), p, n, width});
  };

  // u = rmsnorm(x) g                                       xn: [n, H]
  {
    const OpTimer timer(profile_, Op::kNorm);
    pool_.parallel_for(n, grain(H), [&](size_t b0, size_t e0) {
      ops_.rmsnorm_f32(x_.data() + b0 * H, e0 - b0, H, L.moe_norm, c_.rms_norm_eps,
                       xn_.data() + b0 * H);
    });
  }
  emit("moe_norm", xn_.data(), H);

  // z = u Wr^T + br; top-K logits, softmax over those     z: [n, E]
  const MatJob router[] = {{&L.router, L.router_bias, router_logits_.data(), E}};
  matmuls(Op::kRouter, xn_.data(), H, n, router);
  emit("router_logits", router_logits_.data(), E);
  std::optional<OpTimer> routing_timer(std::in_place, profile_, Op::kRouting);
  for (size_t t = 0; t < n; ++t) {
    ops_.topk_softmax_f32(router_logits_.data() + t * E, E, K, route_ids_.data() + t * K,
                          route_w_.data() + t * K);
  }
  if (hook) {
    std::vector<float> ids(route_ids_.begin(), route_ids_.begin() + n * K);
    emit("router_experts", ids.data(), K);
    emit("router_weights", route_w_.data(), K);
  }

  // Group the (token, slot) pairs by expert, tokens in order: expert e owns
  // rows [off[e], off[e+1]) of the grouped buffers.       moe_x: [n K, H]
  std::fill(expert_count_.begin(), expert_count_.end(), 0);
  for (size_t i = 0; i < n * K; ++i) ++expert_count_[route_ids_[i]];
  expert_off_[0] = 0;
  for (size_t e = 0; e < E; ++e) expert_off_[e + 1] = expert_off_[e] + expert_count_[e];
  std::vector<size_t>& active = active_;  // experts with tokens
  active.clear();
  for (size_t e = 0; e < E; ++e) {
    if (expert_count_[e] > 0) active.push_back(e);
    expert_count_[e] = 0;  // reused as the fill cursor
  }
  for (size_t t = 0; t < n; ++t) {
    for (size_t s = 0; s < K; ++s) {
      const int32_t e = route_ids_[t * K + s];
      const size_t row = expert_off_[e] + expert_count_[e]++;
      moe_row_[t * K + s] = static_cast<int32_t>(row);
      std::memcpy(moe_x_.data() + row * H, xn_.data() + t * H, H * sizeof(float));
    }
  }

  uint64_t gate_up_bytes = 0, down_bytes = 0, gate_up_macs = 0, down_macs = 0;
  if (profile_ != nullptr) {
    for (size_t e : active) {
      const ExpertWeights& X = L.experts[e];
      const uint64_t m = expert_off_[e + 1] - expert_off_[e];
      gate_up_bytes += matrix_bytes(X.gate) + matrix_bytes(X.up);
      down_bytes += matrix_bytes(X.down);
      gate_up_macs += m * (X.gate.n_rows * X.gate.d_in + X.up.n_rows * X.up.d_in);
      down_macs += m * X.down.n_rows * X.down.d_in;
    }
  }
  routing_timer.reset();

  // act = swiglu(u W1g^T + b1g, u W1u^T + b1u), work split over (expert, unit).
  //                                                       gate, up: [n K, I]
  std::optional<OpTimer> gate_up_timer(std::in_place, profile_, Op::kExpertsGateUp, gate_up_bytes,
                                       gate_up_macs);
  for_expert_rows(I, 2 * H, [&](size_t e, size_t r0, size_t r1) {
    const ExpertWeights& X = L.experts[e];
    const size_t off = expert_off_[e], m = expert_off_[e + 1] - off;
    float* gate = moe_gate_.data() + off * I;
    float* up = moe_up_.data() + off * I;
    ops_.moe_matmul_f32_mxfp4w(moe_x_.data() + off * H, H, m, X.gate.rows(r0, r1), X.gate_bias + r0,
                               gate + r0, I);
    ops_.moe_matmul_f32_mxfp4w(moe_x_.data() + off * H, H, m, X.up.rows(r0, r1), X.up_bias + r0,
                               up + r0, I);
    for (size_t j = 0; j < m; ++j) {
      ops_.swiglu_clamp_f32(gate + j * I + r0, up + j * I + r0, r1 - r0, c_.swiglu_alpha,
                            c_.swiglu_limit, gate + j * I + r0);
    }
  });

  gate_up_timer.reset();

  // y_e = act W2^T + b2 (the bias before the routing weight)  y: [n K, H]
  std::optional<OpTimer> down_timer(std::in_place, profile_, Op::kExpertsDown, down_bytes,
                                    down_macs);
  for_expert_rows(H, I, [&](size_t e, size_t r0, size_t r1) {
    const ExpertWeights& X = L.experts[e];
    const size_t off = expert_off_[e], m = expert_off_[e + 1] - off;
    ops_.moe_matmul_f32_mxfp4w(moe_gate_.data() + off * I, I, m, X.down.rows(r0, r1),
                               X.down_bias + r0, moe_y_.data() + off * H + r0, H);
  });

  down_timer.reset();

  // moe[t] = sum_s w[t][s] y[row(t, s)], slots in order   tmp: [n, H]
  std::optional<OpTimer> combine_timer(std::in_place, profile_, Op::kCombine);
  pool_.parallel_for(n, grain(K * H), [&](size_t b0, size_t e0) {
    for (size_t t = b0; t < e0; ++t) {
      float* out = tmp_.data() + t * H;
      std::fill(out, out + H, 0.0f);
      for (size_t s = 0; s < K; ++s) {
        ops_.axpy_f32(route_w_[t * K + s], moe_y_.data() + moe_row_[t * K + s] * H, H, out);
      }
    }
  });
  emit("moe_out", tmp_.data(), H);
  ops_.axpy_f32(1.0f, tmp_.data(), n * H, x_.data());
  combine_timer.reset();
  emit("after_layer", x_.data(), H);
}

// logits[j] = rmsnorm(x[t_j]) Lm^T for the requested rows in this chunk.
void GptOssForward::unembed(const ForwardBatch& b, size_t t0, size_t t1,
                            const ActivationHook& hook) {
  const size_t n = t1 - t0, H = c_.d_model, V = c_.n_vocab;
  {
    const OpTimer timer(profile_, Op::kNorm);
    pool_.parallel_for(n, grain(H), [&](size_t b0, size_t e0) {
      ops_.rmsnorm_f32(x_.data() + b0 * H, e0 - b0, H, w_.final_norm, c_.rms_norm_eps,
                       xn_.data() + b0 * H);
    });
  }
  if (hook) hook({"final_norm", xn_.data(), n, H});

  // Runs of consecutive output rows whose tokens are in this chunk, gathered
  // into moe_x (room for cap * K rows) and unembedded together.
  const size_t max_run = moe_x_.size() / H;
  size_t j = 0;
  while (j < b.logit_rows.size()) {
    size_t run = 0;
    while (j + run < b.logit_rows.size() && run < max_run) {
      const size_t t = static_cast<size_t>(b.logit_rows[j + run]);
      if (t < t0 || t >= t1) break;
      std::memcpy(moe_x_.data() + run * H, xn_.data() + (t - t0) * H, H * sizeof(float));
      ++run;
    }
    if (run == 0) {
      ++j;
      continue;
    }
    float* out = b.logits + j * V;
    const MatJob lm[] = {{&w_.lm_head, nullptr, out, V}};
    matmuls(Op::kLmHead, moe_x_.data(), H, run, lm);
    if (hook) hook({"logits", out, run, V});
    j += run;
  }
}

}  // namespace quarry::model
