#include "model/generate.h"

#include <cmath>
#include <numeric>
#include <string>

namespace quarry::model {

size_t argmax(const float* x, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return best;
}

Result<std::vector<float>> sequence_logits(GptOssForward& fwd, std::span<const int32_t> ids,
                                           std::span<const int32_t> positions) {
  const size_t n = ids.size(), V = fwd.config().n_vocab;
  if (n == 0) return make_error("no input tokens");
  for (size_t i = 0; i < positions.size(); ++i) {
    if (positions[i] < 0 || static_cast<size_t>(positions[i]) >= n) {
      return make_error("positions[" + std::to_string(i) + "]: " + std::to_string(positions[i]) +
                        " is not an index into the " + std::to_string(n) + " input ids");
    }
  }
  KvCache kv = fwd.make_cache(n);
  KvSequence seq;
  if (Status s = kv.reserve(seq, n); !s.ok()) return Error{s.message()};
  std::vector<int32_t> pos(n), sq(n, 0);
  std::iota(pos.begin(), pos.end(), 0);
  std::vector<float> logits(positions.size() * V);
  KvSequence* seqs[] = {&seq};
  const ForwardBatch b{ids, pos, sq, seqs, positions, logits.data()};
  if (Status s = fwd.forward(b, kv); !s.ok()) return Error{s.message()};
  return logits;
}

Result<std::vector<int32_t>> greedy_generate(GptOssForward& fwd, std::span<const int32_t> prompt,
                                             size_t n_new, std::vector<float>* margins) {
  const size_t n = prompt.size(), V = fwd.config().n_vocab;
  if (n == 0) return make_error("no input tokens");
  KvCache kv = fwd.make_cache(n + n_new);
  KvSequence seq;
  if (Status s = kv.reserve(seq, n + n_new); !s.ok()) return Error{s.message()};
  KvSequence* seqs[] = {&seq};
  std::vector<int32_t> out;
  std::vector<float> logits(V);
  std::vector<int32_t> tok(prompt.begin(), prompt.end()), pos(n), sq(n, 0);
  std::iota(pos.begin(), pos.end(), 0);
  for (size_t step = 0; step < n_new; ++step) {
    const int32_t last[] = {static_cast<int32_t>(tok.size() - 1)};
    if (Status s = fwd.forward({tok, pos, sq, seqs, last, logits.data()}, kv); !s.ok()) {
      return Error{s.message()};
    }
    const size_t best = argmax(logits.data(), V);
    if (margins != nullptr) {
      float second = -INFINITY;
      for (size_t i = 0; i < V; ++i) {
        if (i != best && logits[i] > second) second = logits[i];
      }
      margins->push_back(logits[best] - second);
    }
    out.push_back(static_cast<int32_t>(best));
    // Next step: just the new token at the next position.
    const int32_t p = pos.back() + 1;
    tok.assign(1, static_cast<int32_t>(best));
    pos.assign(1, p);
    sq.assign(1, 0);
  }
  return out;
}

}  // namespace quarry::model
