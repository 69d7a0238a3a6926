// Reference kernels that work per row or per element: RMSNorm, YaRN RoPE,
// clamped SwiGLU, router top-k + softmax, axpy.
#include <cmath>

#include "kernels/ref/ref_kernels.h"

namespace quarry::kernels::ref {

void rmsnorm_f32(const float* x, size_t n_tok, size_t d_model, const float* g, float eps,
                 float* y) {
  for (size_t t = 0; t < n_tok; ++t) {
    const float* xt = x + t * d_model;
    float* yt = y + t * d_model;
    double ss = 0.0;
    for (size_t i = 0; i < d_model; ++i) ss += static_cast<double>(xt[i]) * xt[i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(d_model) + eps);
    for (size_t i = 0; i < d_model; ++i) {
      yt[i] = static_cast<float>(static_cast<double>(xt[i]) * inv * g[i]);
    }
  }
}

void rope_yarn_f32(float* x, size_t n_head, size_t d_head, const float* cos, const float* sin) {
  const size_t half = d_head / 2;
  for (size_t h = 0; h < n_head; ++h) {
    float* xh = x + h * d_head;
    for (size_t i = 0; i < half; ++i) {
      const float a = xh[i];
      const float b = xh[i + half];
      xh[i] = a * cos[i] - b * sin[i];
      xh[i + half] = b * cos[i] + a * sin[i];
    }
  }
}

void swiglu_clamp_f32(const float* gate, const float* up, size_t n, float alpha, float limit,
                      float* out) {
  for (size_t i = 0; i < n; ++i) {
    const float g = std::fmin(gate[i], limit);
    const float u = std::fmin(std::fmax(up[i], -limit), limit);
    out[i] = g / (1.0f + std::exp(-alpha * g)) * (u + 1.0f);
  }
}

void topk_softmax_f32(const float* logits, size_t n_expert, size_t k, int32_t* ids,
                      float* weights) {
  // k is small: pick the largest remaining logit k times (strict > keeps the
  // lower id on ties).
  for (size_t j = 0; j < k; ++j) {
    int32_t best = -1;
    for (size_t e = 0; e < n_expert; ++e) {
      bool taken = false;
      for (size_t m = 0; m < j; ++m) taken = taken || ids[m] == static_cast<int32_t>(e);
      if (taken) continue;
      if (best < 0 || logits[e] > logits[best]) best = static_cast<int32_t>(e);
    }
    ids[j] = best;
  }
  const double top = logits[ids[0]];
  double sum = 0.0;
  for (size_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(logits[ids[j]]) - top);
  for (size_t j = 0; j < k; ++j) {
    weights[j] = static_cast<float>(std::exp(static_cast<double>(logits[ids[j]]) - top) / sum);
  }
}

void axpy_f32(float a, const float* x, size_t n, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace quarry::kernels::ref
