#include "engine/request_sampler.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "model/generate.h"

namespace quarry::engine {
namespace {

std::string show(float f) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  return std::string(buf, r.ptr);
}

Status bad(const std::string& field, const std::string& what) {
  return make_error(field + ": " + what);
}

// "a is a better candidate than b": larger value, ties to the lower id.
bool better(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

}  // namespace

Status validate(const SamplingOptions& s, size_t n_vocab) {
  if (!std::isfinite(s.temperature) || s.temperature < 0.0f) {
    return bad("temperature", show(s.temperature) + " is not a finite number >= 0 (0 = greedy)");
  }
  // Comparisons written so that NaN fails.
  if (!(s.top_p > 0.0f && s.top_p <= 1.0f)) {
    return bad("top_p", show(s.top_p) + " is not in (0, 1]");
  }
  if (s.top_k < -1) {
    return bad("top_k", std::to_string(s.top_k) + " is not >= 1 (0 or -1 = off)");
  }
  if (!(s.min_p >= 0.0f && s.min_p <= 1.0f)) {
    return bad("min_p", show(s.min_p) + " is not in [0, 1]");
  }
  if (!(s.presence_penalty >= -2.0f && s.presence_penalty <= 2.0f)) {
    return bad("presence_penalty", show(s.presence_penalty) + " is not in [-2, 2]");
  }
  if (!(s.frequency_penalty >= -2.0f && s.frequency_penalty <= 2.0f)) {
    return bad("frequency_penalty", show(s.frequency_penalty) + " is not in [-2, 2]");
  }
  if (!(s.repetition_penalty > 0.0f) || !std::isfinite(s.repetition_penalty)) {
    return bad("repetition_penalty",
               show(s.repetition_penalty) + " is not a finite number > 0 (1 = off)");
  }
  for (const auto& [id, bias] : s.logit_bias) {
    if (id < 0 || static_cast<size_t>(id) >= n_vocab) {
      return bad("logit_bias", "token id " + std::to_string(id) + " is outside the vocabulary (" +
                                   std::to_string(n_vocab) + ")");
    }
    if (!(bias >= -100.0f && bias <= 100.0f)) {
      return bad("logit_bias", "bias " + show(bias) + " for token " + std::to_string(id) +
                                   " is not in [-100, 100]");
    }
  }
  if (s.logprobs < -1 || s.logprobs > 20) {
    return bad("logprobs", std::to_string(s.logprobs) + " is not in [0, 20] (-1 = none)");
  }
  return Status::Ok();
}

std::vector<std::pair<float, int32_t>> top_values(std::span<const float> x, size_t k) {
  std::vector<std::pair<float, int32_t>> heap;  // a min-heap: front is the worst kept
  k = std::min(k, x.size());
  if (k == 0) return heap;
  heap.reserve(k);
  const auto worse_first = [](const auto& a, const auto& b) { return better(a, b); };
  for (size_t i = 0; i < x.size(); ++i) {
    const float v = x[i];
    if (std::isnan(v)) continue;
    if (heap.size() < k) {
      heap.emplace_back(v, static_cast<int32_t>(i));
      std::push_heap(heap.begin(), heap.end(), worse_first);
    } else if (v > heap.front().first) {
      // Ids come in increasing order, so an equal value never beats a kept one.
      std::pop_heap(heap.begin(), heap.end(), worse_first);
      heap.back() = {v, static_cast<int32_t>(i)};
      std::push_heap(heap.begin(), heap.end(), worse_first);
    }
  }
  std::sort(heap.begin(), heap.end(), better);
  return heap;
}

Result<std::unique_ptr<RequestSampler>> RequestSampler::create(const SamplingOptions& options,
                                                               uint64_t seed) {
  auto s = model::Sampler::create({options.temperature, options.top_p, seed});
  if (!s.ok()) return s.error();
  return std::unique_ptr<RequestSampler>(new RequestSampler(options, std::move(s.value())));
}

void RequestSampler::apply_penalties(std::span<float> logits, std::span<const int32_t> prompt,
                                     std::span<const int32_t> output) {
  const bool repetition = o_.repetition_penalty != 1.0f;
  const bool additive = o_.presence_penalty != 0.0f || o_.frequency_penalty != 0.0f;
  if (!repetition && !additive) return;
  const auto in_vocab = [&](int32_t id) {
    return id >= 0 && static_cast<size_t>(id) < logits.size();
  };
  for (; counted_ < output.size(); ++counted_) ++out_counts_[output[counted_]];

  if (repetition) {
    // vLLM: every distinct id of prompt + output once; a positive logit is
    // divided by the penalty, a negative one multiplied (both make the token
    // less likely for a penalty > 1).
    if (!prompt_ids_ready_) {
      prompt_ids_.assign(prompt.begin(), prompt.end());
      std::sort(prompt_ids_.begin(), prompt_ids_.end());
      prompt_ids_.erase(std::unique(prompt_ids_.begin(), prompt_ids_.end()), prompt_ids_.end());
      prompt_ids_ready_ = true;
    }
    const float p = o_.repetition_penalty;
    const auto penalise = [&](int32_t id) {
      if (!in_vocab(id)) return;
      float& l = logits[static_cast<size_t>(id)];
      l = l > 0.0f ? l / p : l * p;
    };
    for (int32_t id : prompt_ids_) penalise(id);
    for (const auto& [id, count] : out_counts_) {
      if (!std::binary_search(prompt_ids_.begin(), prompt_ids_.end(), id)) penalise(id);
    }
  }
  if (additive) {
    // OpenAI: over the generated tokens, count * frequency + presence.
    for (const auto& [id, count] : out_counts_) {
      if (!in_vocab(id)) continue;
      logits[static_cast<size_t>(id)] -=
          static_cast<float>(count) * o_.frequency_penalty + o_.presence_penalty;
    }
  }
}

void RequestSampler::apply_top_k(std::span<float> logits) const {
  if (o_.top_k <= 0 || static_cast<size_t>(o_.top_k) >= logits.size()) return;
  const size_t k = static_cast<size_t>(o_.top_k);
  float kth;
  if (k <= 4096) {
    kth = top_values(logits, k).back().first;
  } else {
    // A large k: selection on a copy beats a heap of k.
    std::vector<float> v(logits.begin(), logits.end());
    for (float& x : v) x = std::isnan(x) ? -INFINITY : x;
    std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k - 1), v.end(),
                     std::greater<float>());
    kth = v[k - 1];
  }
  // Ties with the k-th value are all kept (as vLLM does).
  for (float& x : logits) x = x >= kth ? x : -INFINITY;
}

void RequestSampler::apply_min_p(std::span<float> logits) const {
  if (o_.min_p <= 0.0f) return;
  float m = -INFINITY;
  for (float x : logits) m = x > m ? x : m;
  if (!(m > -INFINITY) || m == INFINITY) return;
  // p_i / p_max = exp((l_i - m) / T) >= min_p  <=>  l_i >= m + T ln(min_p).
  const float cut = m + o_.temperature * std::log(o_.min_p);
  for (float& x : logits) x = x >= cut ? x : -INFINITY;
}

int32_t RequestSampler::sample(std::span<float> logits, std::span<const int32_t> prompt,
                               std::span<const int32_t> output, const LogitsProcessor& processor,
                               SampledLogprobs* logprobs) {
  const bool want_lp = logprobs != nullptr && o_.logprobs >= 0;
  if (want_lp) raw_.assign(logits.begin(), logits.end());

  if (processor) processor(output, logits);
  for (const auto& [id, bias] : o_.logit_bias) logits[static_cast<size_t>(id)] += bias;
  apply_penalties(logits, prompt, output);

  int32_t id;
  if (o_.temperature == 0.0f) {
    id = static_cast<int32_t>(model::argmax(logits.data(), logits.size()));
  } else {
    apply_top_k(logits);
    apply_min_p(logits);
    id = draw_.sample(logits);  // temperature, top_p, the seeded draw
  }

  if (want_lp) {
    // log_softmax(raw) = raw - (m + log sum exp(raw - m)), summed in double.
    float m = -INFINITY;
    for (float x : raw_) m = x > m ? x : m;
    double sum = 0.0;
    if (std::isfinite(m)) {
      for (float x : raw_) sum += std::exp(static_cast<double>(x - m));
    }
    const float lse = std::isfinite(m) ? m + static_cast<float>(std::log(sum)) : m;
    logprobs->logprob = raw_[static_cast<size_t>(id)] - lse;
    logprobs->top.clear();
    for (const auto& [v, tok] : top_values(raw_, static_cast<size_t>(o_.logprobs))) {
      logprobs->top.push_back({tok, v - lse});
    }
  }
  return id;
}

}  // namespace quarry::engine
