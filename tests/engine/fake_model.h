// Test helpers for the engine: a fake StepModel whose logits depend on every
// token it can read back through a sequence's block table, and a collector
// of one request's updates.
//
// The fake stores one token id per (block, slot). forward() first writes each
// batch token at its position's slot, then for each logit row reads
// positions 0..p back through the sequence's block table and derives the
// logits from a hash of what it read. So a wrong block table, a shared block
// overwritten by another sequence or a bad prefix-cache hit changes the
// output, which the tests compare with fake_greedy() (the same function
// computed from the tokens directly).
//
// With a window W > 0 the fake also has a sliding-window block table
// (KvSequence::window_blocks): tokens are written through both tables, and
// the logits also hash positions p-W+1..p read back through the window table,
// so a window block dropped too early or shared wrongly changes the output.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace quarry::engine::testing {

inline uint64_t fake_mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dull;
  x ^= x >> 33;
  return x;
}

// The hash of a token prefix, as the fake computes it from what it reads.
inline uint64_t fake_prefix_hash(std::span<const int32_t> tokens) {
  uint64_t h = 0x1234567;
  for (int32_t t : tokens) h = fake_mix(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(t)) + 1));
  return h;
}

// Logits in [0, 8) for a prefix hash.
inline void fake_logits(uint64_t h, std::span<float> out) {
  for (size_t v = 0; v < out.size(); ++v) {
    out[v] = static_cast<float>(fake_mix(h * 0x9e3779b97f4a7c15ull + v) >> 40) * 0x1.0p-24f * 8.0f;
  }
}

// What the engine should produce greedily: up to `max_tokens` tokens after
// `prompt`, stopping after a stop id or when prompt + generated reaches
// `max_total` tokens.
std::vector<int32_t> fake_greedy(std::vector<int32_t> prompt, size_t max_tokens,
                                 const std::vector<int32_t>& stop_ids, size_t max_total,
                                 size_t n_vocab = 64, size_t window = 0);

// The hash the fake's logits come from: the whole prefix and, with a window,
// its last `window` tokens again.
uint64_t fake_hash(std::span<const int32_t> prefix, std::span<const int32_t> window_part,
                   size_t window);

struct FakeBatch {
  std::vector<int32_t> tokens, positions, seq, logit_rows;
  std::vector<const void*> seq_ids;  // the KvSequence of each sequence (stable per request)
};

// Shared between a test and its FakeModel (which the engine owns).
struct FakeLog {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<FakeBatch> batches;
  size_t calls_started = 0;
  bool gate_open = true;            // while false, forward() waits (after being counted)
  size_t fail_on_call = 0;          // 1-based forward call that fails; 0 = none
  size_t close_gate_on_call = 0;    // 1-based forward call that closes the gate; 0 = none
  std::vector<std::string> errors;  // problems the fake detected in batches

  void close_gate();
  void close_gate_on(size_t call);  // sets close_gate_on_call
  void open_gate();
  void wait_calls_started(size_t n);
  std::vector<FakeBatch> snapshot();
};

class FakeModel final : public StepModel {
 public:
  FakeModel(size_t kv_blocks, size_t block_size, size_t max_positions,
            std::shared_ptr<FakeLog> log = std::make_shared<FakeLog>(), size_t n_vocab = 64,
            size_t window = 0)
      : kv_blocks_(kv_blocks),
        block_size_(block_size),
        max_positions_(max_positions),
        n_vocab_(n_vocab),
        window_(window),
        log_(std::move(log)),
        store_(kv_blocks * block_size, -1) {}

  size_t n_vocab() const override { return n_vocab_; }
  size_t max_positions() const override { return max_positions_; }
  size_t kv_blocks() const override { return kv_blocks_; }
  size_t block_size() const override { return block_size_; }
  size_t kv_window() const override { return window_; }
  Status forward(const model::ForwardBatch& batch) override;

 private:
  size_t kv_blocks_, block_size_, max_positions_, n_vocab_, window_;
  std::shared_ptr<FakeLog> log_;
  std::vector<int32_t> store_;  // [block][slot] token ids, -1 never written
};

// Collects one request's updates.
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int32_t> tokens;
  std::vector<SampledLogprobs> logprobs;
  size_t updates = 0;
  size_t finals = 0;
  bool after_final = false;  // an update arrived after the final one
  Update last;

  UpdateCallback callback();
  void wait();
  // Until at least n tokens arrived (or the request finished).
  void wait_tokens(size_t n);
  bool finished();
};

// Runs one request alone on a fresh engine over a fresh FakeModel.
struct AloneResult {
  std::vector<int32_t> tokens;
  FinishReason finish = FinishReason::kStop;
};
AloneResult run_alone(const Request& r, size_t kv_blocks, size_t block_size, size_t max_positions,
                      EngineOptions options = {});

// Deterministic pseudo-random prompt.
std::vector<int32_t> make_prompt(size_t n, uint32_t seed, size_t n_vocab = 64);

Request greedy_request(std::vector<int32_t> prompt, size_t max_tokens);

}  // namespace quarry::engine::testing
