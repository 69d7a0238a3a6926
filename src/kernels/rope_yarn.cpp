#include "kernels/rope_yarn.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace quarry::kernels {

YarnRope::YarnRope(const YarnParams& p) {
  const size_t half = p.d_head / 2;
  const double d = static_cast<double>(p.d_head);
  inv_freq_.resize(half);
  std::vector<double> freq(half);
  for (size_t i = 0; i < half; ++i) freq[i] = std::pow(p.theta, 2.0 * static_cast<double>(i) / d);
  if (p.factor <= 1.0) {
    for (size_t i = 0; i < half; ++i) inv_freq_[i] = 1.0 / freq[i];
    concentration_ = 1.0;
    return;
  }
  concentration_ = p.attention_factor > 0.0 ? p.attention_factor : 0.1 * std::log(p.factor) + 1.0;
  const double two_pi = 2.0 * std::numbers::pi;
  const double dh = static_cast<double>(half);
  double low = dh * std::log(p.original_context / (p.beta_fast * two_pi)) / std::log(p.theta);
  double high = dh * std::log(p.original_context / (p.beta_slow * two_pi)) / std::log(p.theta);
  if (p.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, d - 1.0);
  if (low == high) high += 0.001;
  for (size_t i = 0; i < half; ++i) {
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double extrapolation = 1.0 / freq[i];
    const double interpolation = 1.0 / (p.factor * freq[i]);
    inv_freq_[i] = interpolation * ramp + extrapolation * (1.0 - ramp);
  }
}

void YarnRope::cos_sin(int64_t pos, float* cos, float* sin) const {
  for (size_t i = 0; i < inv_freq_.size(); ++i) {
    const double angle = static_cast<double>(pos) * inv_freq_[i];
    cos[i] = static_cast<float>(concentration_ * std::cos(angle));
    sin[i] = static_cast<float>(concentration_ * std::sin(angle));
  }
}

}  // namespace quarry::kernels
