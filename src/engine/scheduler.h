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
// Sliding-window layers (a model whose kv_window() is not 0) have their own
// block table per sequence, drawn from the same pool. It grows with the full
// table, but once computed positions move past a block's window the block is
// dropped (entry -1, reference released), so a long sequence holds about
// window / block_size + 2 window blocks instead of one per block. Both
// tables' full blocks go to the prefix cache (the window copy under
// window_block_hash); a prefix hit needs the full blocks of the prefix and the
// window blocks that the first computed position reads, so the hit is
// shortened to the longest prefix whose window blocks are still cached.
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
  model::KvSequence kv;          // block tables: position p in kv.blocks[p / block_size]
  size_t window_dropped = 0;     // leading kv.window_blocks entries released (-1)
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
  // `window`: the model's kv_window() (0: one block table).
  Scheduler(const EngineOptions& options, size_t kv_blocks, size_t block_size, size_t window = 0);

  // The positions one sequence may hold when it runs alone: with a window
  // table, room is kept for the window blocks of a full prefill chunk.
  static size_t kv_positions(const EngineOptions& options, size_t kv_blocks, size_t block_size,
                             size_t window);

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
  // Positions every table of `s` has blocks for.
  size_t capacity(const Sequence& s) const;
  // Appends one block to the shorter table of `s`; false when none is free.
  bool grow(Sequence& s);
  // The first window-table block that computing position `pos` reads.
  size_t window_first_block(size_t pos) const;
  // Releases the window blocks no position from n_computed on reads.
  void drop_window_blocks(Sequence& s);
  // The prefix-cache hit for `s`: full-table blocks `hit` (from lookup),
  // shortened until the window blocks it needs are cached too (returned in
  // `window_hit`, for window-table entries [first, hit.size())).
  void window_hits(const Sequence& s, std::vector<int32_t>& hit, std::vector<int32_t>& window_hit,
                   size_t& first) const;
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
  size_t window_;
  BlockManager blocks_;
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::vector<std::unique_ptr<Sequence>> running_;  // in admission order
  uint64_t step_ = 0;
  uint64_t admitted_ = 0;
  uint64_t prefix_query_tokens_ = 0;
  uint64_t prefix_hit_tokens_ = 0;
};

}  // namespace quarry::engine
