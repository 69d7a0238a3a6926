// Reference attention with learned sinks over a paged KV cache, causal with an
// optional sliding window. Online softmax per head: the running max starts at
// the sink logit and the running sum at 1 (the sink's own exp(0)), so the sink
// joins the normaliser but contributes no value.
#include <algorithm>
#include <cmath>

#include "kernels/ref/ref_kernels.h"

namespace quarry::kernels::ref {

void attention_sink_swa_f32(const float* q, const KvLayerView& kv, size_t pos, const float* sinks,
                            const AttentionShape& shape, size_t head_begin, size_t head_end,
                            float* out) {
  const size_t d = shape.d_head;
  const size_t group = shape.n_head / shape.n_kv_head;
  const size_t t_begin = (shape.window > 0 && pos + 1 > shape.window) ? pos + 1 - shape.window : 0;
  for (size_t h = head_begin; h < head_end; ++h) {
    const float* qh = q + h * d;
    const size_t kv_off = (h / group) * d;
    float* acc = out + h * d;
    std::fill(acc, acc + d, 0.0f);
    float m = sinks[h];
    float l = 1.0f;
    for (size_t t = t_begin; t <= pos; ++t) {
      const size_t row = kv.row_offset(t) + kv_off;
      const float* k = kv.k + row;
      const float* v = kv.v + row;
      float dot = 0.0f;
      for (size_t i = 0; i < d; ++i) dot += qh[i] * k[i];
      const float s = dot * shape.scale;
      if (s > m) {
        const float corr = std::exp(m - s);
        l = l * corr + 1.0f;
        for (size_t i = 0; i < d; ++i) acc[i] = acc[i] * corr + v[i];
        m = s;
      } else {
        const float p = std::exp(s - m);
        l += p;
        for (size_t i = 0; i < d; ++i) acc[i] += p * v[i];
      }
    }
    const float inv = 1.0f / l;
    for (size_t i = 0; i < d; ++i) acc[i] *= inv;
  }
}

}  // namespace quarry::kernels::ref
