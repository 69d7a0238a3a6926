// YaRN rotary-embedding parameters (spec §4.4): per-pair inverse frequencies
// with the exact ramp between low and high, and the concentration factor that
// multiplies both cos and sin. All set-up math is fp64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace quarry::kernels {

struct YarnParams {
  size_t d_head = 0;
  double theta = 10000.0;
  double factor = 1.0;  // <= 1: plain RoPE, concentration 1
  double original_context = 4096.0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  bool truncate = false;          // floor(low) / ceil(high), as HF does when asked to
  double attention_factor = 0.0;  // > 0 overrides 0.1 ln(factor) + 1
};

class YarnRope {
 public:
  explicit YarnRope(const YarnParams& p);

  size_t half() const { return inv_freq_.size(); }
  const std::vector<double>& inv_freq() const { return inv_freq_; }
  double concentration() const { return concentration_; }

  // cos[i] = c cos(pos inv_freq[i]), sin[i] = c sin(pos inv_freq[i]) for
  // i < d_head/2, the angle in fp64, rounded to f32 at the end.
  void cos_sin(int64_t pos, float* cos, float* sin) const;

 private:
  std::vector<double> inv_freq_;
  double concentration_ = 1.0;
};

}  // namespace quarry::kernels
