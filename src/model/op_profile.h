// Where a forward pass spends its time: wall seconds, weight bytes read and
// multiply-adds per kind of op, summed over the calls made while a profile is attached
// (GptOssForward::set_profile). Each op is timed on the calling thread around
// its parallel loop, so a row is the op's wall time including the wait for
// the slower thread; the rows add up to the forward call less the few
// bookkeeping lines between ops. `quarry bench --profile` prints it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace quarry::model {

enum class Op : uint8_t {
  kEmbed,          // embedding rows and the positions' RoPE tables
  kNorm,           // every RMSNorm
  kQkv,            // q, k, v projections
  kRope,           // RoPE on q and k, KV cache writes
  kAttention,      // softmax-with-sink attention over the cache
  kAttnOut,        // o projection and its residual add
  kRouter,         // router matmul
  kRouting,        // top-k, softmax, grouping the tokens by expert
  kExpertsGateUp,  // experts' gate and up matmuls and SwiGLU
  kExpertsDown,    // experts' down matmuls
  kCombine,        // routing-weighted sum of the experts and its residual add
  kLmHead,         // unembedding
  kCount,
};

const char* op_name(Op op);

struct OpProfile {
  struct Entry {
    double seconds = 0.0;
    uint64_t weight_bytes = 0;  // matrix bytes the op's kernels streamed
    uint64_t macs = 0;          // multiply-adds of its matrix (or q.k and p.v) products
    uint64_t calls = 0;
  };
  std::array<Entry, static_cast<size_t>(Op::kCount)> ops{};
  uint64_t forward_calls = 0;

  Entry& at(Op op) { return ops[static_cast<size_t>(op)]; }
  const Entry& at(Op op) const { return ops[static_cast<size_t>(op)]; }
  double total_seconds() const;
  uint64_t total_weight_bytes() const;
  uint64_t total_macs() const;
};

// Adds the time from construction to destruction (and `bytes`, `macs`) to
// `op` of `profile`; does nothing when `profile` is null.
class OpTimer {
 public:
  OpTimer(OpProfile* profile, Op op, uint64_t bytes = 0, uint64_t macs = 0)
      : profile_(profile), op_(op), bytes_(bytes), macs_(macs) {
    if (profile_ != nullptr) start_ = std::chrono::steady_clock::now();
  }
  ~OpTimer() {
    if (profile_ == nullptr) return;
    OpProfile::Entry& e = profile_->at(op_);
    e.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    e.weight_bytes += bytes_;
    e.macs += macs_;
    ++e.calls;
  }
  OpTimer(const OpTimer&) = delete;
  OpTimer& operator=(const OpTimer&) = delete;

 private:
  OpProfile* profile_;
  Op op_;
  uint64_t bytes_, macs_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace quarry::model
