// The serving engine: requests (token ids) in, generated token ids out, many
// requests sharing each forward step. No HTTP or JSON here.
//
// One engine thread runs the loop: admit waiting requests while KV blocks
// allow, build one batch that spends a token budget across the running
// requests (decode tokens first, then chunks of prompts: chunked prefill),
// run the model, sample, hand each request its new tokens through its
// callback. The KV cache is paged: fixed-size blocks from a ref-counted pool,
// block tables per sequence (one for full-attention layers, one for
// sliding-window layers that keeps only the window); full prompt blocks are
// hashed so a repeated prefix (a shared system prompt) is reused instead of
// recomputed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "model/gpt_oss_forward.h"

namespace quarry::engine {

// What the engine needs from a model: a forward pass over a batch whose tokens
// carry (sequence, position) and whose sequences carry block tables with ids
// in [0, kv_blocks()). Implemented by the gpt-oss model (make_gpt_oss_step_model)
// and by a fake in the tests.
class StepModel {
 public:
  virtual ~StepModel() = default;
  virtual size_t n_vocab() const = 0;
  virtual size_t max_positions() const = 0;  // positions one sequence may use
  virtual size_t kv_blocks() const = 0;
  virtual size_t block_size() const = 0;  // positions per block
  // Positions the sliding-window layers read when the model keeps them in
  // their own block tables (KvSequence::window_blocks, whose blocks before the
  // window the engine drops); 0 = one block table for all layers.
  virtual size_t kv_window() const { return 0; }
  // Writes the logits of batch.logit_rows into batch.logits (n_vocab floats each).
  virtual Status forward(const model::ForwardBatch& batch) = 0;
};

// The gpt-oss model with a KV pool of `kv_blocks` blocks of `block_size`
// positions (one group of layers each: full-attention or sliding-window). The model, ops and pool
// must outlive the result.
std::unique_ptr<StepModel> make_gpt_oss_step_model(const model::GptOssModel& model,
                                                   const kernels::Ops& ops, ThreadPool& pool,
                                                   size_t kv_blocks, size_t block_size = 16,
                                                   size_t max_chunk_tokens = 256);

// Per-request sampling. Logits are processed in this order: logit_bias,
// repetition/presence/frequency penalties (over the generated tokens), then
// temperature; then top_k, min_p and top_p filter; then a draw from the
// request's own generator (so the same seed gives the same tokens whatever
// else is in the batch).
struct SamplingOptions {
  float temperature = 1.0f;         // 0 = greedy
  float top_p = 1.0f;               // (0, 1]
  int32_t top_k = 0;                // 0 or -1 = off
  float min_p = 0.0f;               // [0, 1]
  float presence_penalty = 0.0f;    // [-2, 2]
  float frequency_penalty = 0.0f;   // [-2, 2]
  float repetition_penalty = 1.0f;  // > 0, 1 = off (vLLM semantics: prompt + output tokens)
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to the logit of the id
  std::optional<uint64_t> seed;                       // none: a fresh random seed
  // -1: no logprobs. 0..20: the chosen token's logprob and this many top
  // alternatives, from the model's raw distribution (log_softmax of the logits).
  int32_t logprobs = -1;
};

// Checks the ranges above; the message names the field as JSON spells it.
Status validate(const SamplingOptions& s, size_t n_vocab);

// Runs on the engine thread right before sampling a request's next token: may
// set logits to -inf to constrain decoding (tool calls, JSON schemas).
// `generated` holds the tokens this request has produced so far.
using LogitsProcessor =
    std::function<void(std::span<const int32_t> generated, std::span<float> logits)>;

struct Request {
  std::vector<int32_t> prompt;  // at least one token
  size_t max_tokens = 16;       // >= 1; clipped to the positions left after the prompt
  // Generation ends right after one of these is sampled (it is reported).
  std::vector<int32_t> stop_ids;
  SamplingOptions sampling;
  LogitsProcessor logits_processor;  // may be empty
};

enum class FinishReason {
  kStop,       // a stop id was sampled
  kLength,     // max_tokens generated
  kContext,    // the sequence reached max_positions
  kCancelled,  // cancel() or shutdown
  kError,      // the model failed (Update::error)
};
const char* finish_reason_name(FinishReason r);  // "stop", "length", ...

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0.0f;
};
struct SampledLogprobs {
  float logprob = 0.0f;           // of the sampled token
  std::vector<TokenLogprob> top;  // the `logprobs` most likely, descending
};

// What a request's callback receives: the tokens generated since the last
// update (usually one per step), and at the end finished = true (exactly once;
// no update follows it).
struct Update {
  std::vector<int32_t> tokens;
  std::vector<SampledLogprobs> logprobs;  // parallel to tokens when requested
  bool finished = false;
  FinishReason finish = FinishReason::kStop;
  std::string error;            // for kError
  size_t prompt_tokens = 0;     // set in every update
  size_t cached_tokens = 0;     // prompt tokens served from the prefix cache
  size_t generated_tokens = 0;  // so far, including these
};
// Runs on the engine thread: it must return quickly and must not block (queue
// the work elsewhere). It may call Engine::cancel.
using UpdateCallback = std::function<void(Update&&)>;

struct EngineOptions {
  size_t max_batch_tokens = 256;  // token budget per step (decode + prefill chunks)
  size_t max_running = 32;        // sequences in one step
  size_t max_waiting = 256;       // queued requests; beyond it submit() refuses
  bool prefix_caching = true;
};

enum class SubmitCode { kOk, kInvalid, kOverloaded, kShuttingDown };
struct Submitted {
  SubmitCode code = SubmitCode::kOk;
  uint64_t id = 0;      // when kOk
  std::string message;  // otherwise: why (names the field for kInvalid)
};

// Counters for /metrics; a consistent snapshot.
struct EngineStats {
  size_t waiting = 0;
  size_t running = 0;
  size_t kv_blocks_total = 0;
  size_t kv_blocks_used = 0;         // referenced by a live sequence
  size_t kv_blocks_free = 0;         // unreferenced (cached prefix blocks count as free)
  size_t kv_blocks_cached = 0;       // free blocks still holding a reusable prefix
  uint64_t prefix_query_tokens = 0;  // prompt tokens looked up in the prefix cache
  uint64_t prefix_hit_tokens = 0;    // of those, found
  uint64_t prompt_tokens = 0;        // prompt tokens computed (hits excluded)
  uint64_t generated_tokens = 0;
  uint64_t requests_finished = 0;
  uint64_t requests_refused = 0;
  uint64_t steps = 0;
};

class Engine {
 public:
  Engine(std::unique_ptr<StepModel> model, EngineOptions options = {});
  ~Engine();  // shutdown(); never from the engine thread (a callback)
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Thread-safe. Never blocks on the model. A request whose prompt and one
  // generated token cannot fit in the whole KV pool or in max_positions is
  // kInvalid; a full waiting queue is kOverloaded.
  Submitted submit(Request request, UpdateCallback on_update);
  // Thread-safe; unknown or finished ids are ignored. The request's blocks are
  // freed at the next step and its callback gets a final kCancelled update.
  void cancel(uint64_t id);

  // Stops accepting requests (kShuttingDown), lets the running and waiting
  // ones finish, then stops the engine thread. With drain = false they are
  // cancelled instead. Idempotent; returns when the thread has stopped.
  void shutdown(bool drain = true);

  EngineStats stats() const;
  size_t n_vocab() const;
  size_t max_positions() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace quarry::engine
