// The engine's per-step plan (vLLM v1 style): one token budget per step,
// spent first on one token for every running sequence that is decoding, then
// on chunks of prompts (running sequences still prefilling, then newly
// admitted waiting ones, first come first served). A sequence is just tokens
// (prompt + generated) and how many of them are in the KV cache, so a
// prefill chunk, a decode step and the recompute of a preempted sequence are
// the same thing: compute the next positions; when that reaches the last
// token, its logits give the next token.
//
// Blocks are allocated lazily, as positions are reached. When a running
// sequence cannot get a block, the most recently admitted running sequence
// not yet scheduled this step is preempted (its blocks freed, back to the
// front of the waiting queue, recomputed later; its tokens are kept, so
// nothing is sampled or reported twice) -- possibly the sequence itself.
//
// In-flight prefix sharing: a waiting request whose next uncached full
// prompt block is one that a running sequence has yet to compute (same
// chained hash, same tokens) is not admitted yet. It keeps its place in the
// queue while later requests may be admitted past it; once the block is
// computed and offered to the prefix cache it is admitted with a hit, and if
// the running sequence goes away first (cancelled, preempted, finished) it
// no longer waits and computes the block itself. Requests arriving together
// with the same prefix so compute it once: the first is admitted, the others
// wait for it. Waiting is only a scheduling choice: what a request reads is
// still decided by the cache lookup at admission.
//
// Sliding-window layers read only the last `window` positions, but all
// layers share one block table here; giving them a ring of blocks is an
// optimisation left for later.
//
// Not thread-safe: the engine calls it under its lock.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "engine/block_manager.h"
#include "engine/engine.h"
#include "engine/request_sampler.h"
#include "model/kv_cache.h"

namespace quarry::engine {

struct Sequence {
  uint64_t id = 0;
  Request request;  // its prompt is moved into `tokens`
  UpdateCallback on_update;
  std::unique_ptr<RequestSampler> sampler;

  std::vector<int32_t> tokens;  // prompt, then the generated tokens
  size_t n_prompt = 0;
  size_t budget = 0;             // tokens it may generate (max_tokens clipped to positions)
  size_t n_computed = 0;         // leading positions whose keys/values are in the cache
  model::KvSequence kv;          // block table: position p in kv.blocks[p / block_size]
  std::vector<uint64_t> hashes;  // chained hashes of the full blocks of `tokens`
  size_t n_committed = 0;        // leading blocks already offered to the prefix cache
  size_t cached_tokens = 0;      // prompt tokens found in the prefix cache (first admission)
  bool admitted_once = false;
  uint64_t admit_order = 0;
  uint64_t scheduled_step = 0;  // the last step that scheduled it

  size_t n_generated() const { return tokens.size() - n_prompt; }
};

// One sequence's share of a step: positions [start, start + count).
struct ScheduledSeq {
  Sequence* seq = nullptr;
  size_t start = 0;
  size_t count = 0;
  bool sample = false;  // reaches the last token: its logits give the next one
};

struct Schedule {
  std::vector<ScheduledSeq> items;
  size_t n_tokens = 0;
  size_t n_preempted = 0;
};

class Scheduler {
 public:
  Scheduler(const EngineOptions& options, size_t kv_blocks, size_t block_size);

  void enqueue(std::unique_ptr<Sequence> seq) { waiting_.push_back(std::move(seq)); }
  size_t n_waiting() const { return waiting_.size(); }
  size_t n_running() const { return running_.size(); }
  bool has_work() const { return !waiting_.empty() || !running_.empty(); }

  // Plans the next step and allocates the blocks it writes.
  Schedule schedule();
  // After the forward pass: the planned positions are in the cache; their
  // newly full blocks are offered to the prefix cache.
  void computed(const Schedule& plan);

  // Removes a sequence (waiting or running) and frees its blocks; null when
  // unknown.
  std::unique_ptr<Sequence> remove(uint64_t id);
  // Removes every sequence (waiting first, then running), freeing blocks.
  std::vector<std::unique_ptr<Sequence>> remove_all();

  const BlockManager& blocks() const { return blocks_; }
  uint64_t prefix_query_tokens() const { return prefix_query_tokens_; }
  uint64_t prefix_hit_tokens() const { return prefix_hit_tokens_; }

 private:
  size_t blocks_for(size_t positions) const;
  void free_blocks(Sequence& s);
  void extend_hashes(Sequence& s) const;
  // Gives the running sequence at `index` blocks for its next position,
  // preempting newer unscheduled ones; false when it preempted itself.
  bool ensure_first_block(size_t index, Schedule& plan);
  void preempt(size_t index, Schedule& plan);
  // True when a running sequence is to compute block `b` of `w` (same hash and
  // tokens) and has not offered it to the prefix cache yet.
  bool computing_elsewhere(const Sequence& w, size_t b);
  enum class Admission { kAdmitted, kWaits, kNoRoom };
  // Tries the waiting request at `index` (removed from waiting_ when admitted).
  Admission admit(size_t index, size_t& budget, Schedule& plan);

  EngineOptions options_;
  BlockManager blocks_;
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::vector<std::unique_ptr<Sequence>> running_;  // in admission order
  uint64_t step_ = 0;
  uint64_t admitted_ = 0;
  uint64_t prefix_query_tokens_ = 0;
  uint64_t prefix_hit_tokens_ = 0;
};

}  // namespace quarry::engine
