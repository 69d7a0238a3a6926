#include "model/decode.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>

namespace quarry::model {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

double DecodeStats::prefill_tokens_per_second() const {
  return prefill_seconds > 0.0 ? static_cast<double>(prompt_tokens) / prefill_seconds : 0.0;
}

double DecodeStats::decode_tokens_per_second() const {
  return decode_seconds > 0.0 ? static_cast<double>(decode_steps) / decode_seconds : 0.0;
}

Result<DecodeStats> decode(GptOssForward& fwd, std::span<const int32_t> prompt,
                           const DecodeOptions& options, Sampler& sampler,
                           const TokenCallback& on_token) {
  const GptOssConfig& c = fwd.config();
  const size_t n = prompt.size();
  if (n == 0) return make_error("prompt: no tokens");
  if (n >= c.max_position) {
    return make_error("prompt: " + std::to_string(n) + " tokens leave no room for new tokens in " +
                      "the model's " + std::to_string(c.max_position) + " positions");
  }
  DecodeStats stats;
  stats.prompt_tokens = n;
  if (options.max_tokens == 0) return stats;

  // Every generated token but the last is fed back, so prompt + budget
  // positions are the most the cache is ever asked for.
  const size_t budget = std::min(options.max_tokens, c.max_position - n);
  KvCache kv = fwd.make_cache(n + budget);
  KvSequence seq;
  if (Status s = kv.reserve(seq, n + budget); !s.ok()) return Error{s.message()};
  KvSequence* seqs[] = {&seq};

  std::vector<float> logits(c.n_vocab);
  std::vector<int32_t> tok(prompt.begin(), prompt.end()), pos(n), sq(n, 0);
  std::iota(pos.begin(), pos.end(), 0);
  const auto is_stop = [&](int32_t id) {
    return std::find(options.stop_ids.begin(), options.stop_ids.end(), id) !=
           options.stop_ids.end();
  };

  for (size_t step = 0; step < budget; ++step) {
    const auto t0 = Clock::now();
    // Prefill: the whole prompt, logits of its last row only. Then one token.
    const int32_t last[] = {static_cast<int32_t>(tok.size() - 1)};
    if (Status s = fwd.forward({tok, pos, sq, seqs, last, logits.data()}, kv); !s.ok()) {
      return Error{s.message()};
    }
    const int32_t id = sampler.sample(logits);
    if (step == 0) {
      stats.prefill_seconds = seconds_since(t0);
    } else {
      stats.decode_seconds += seconds_since(t0);
      ++stats.decode_steps;
    }
    ++stats.generated_tokens;

    if (on_token && !on_token(id)) {
      stats.stop = DecodeStop::kCallback;
      return stats;
    }
    if (is_stop(id)) {
      stats.stop = DecodeStop::kStopToken;
      stats.stop_token = id;
      return stats;
    }
    const int32_t p = pos.back() + 1;
    tok.assign(1, id);
    pos.assign(1, p);
    sq.assign(1, 0);
  }
  stats.stop = budget < options.max_tokens ? DecodeStop::kMaxPosition : DecodeStop::kMaxTokens;
  return stats;
}

}  // namespace quarry::model
