#include "convert/hf_rows.h"

#include <cmath>
#include <cstring>

#include "kernels/numeric.h"

namespace quarry::convert {
namespace {

using model::TensorKind;
using model::TensorRole;

// splitmix64: a full-period 64-bit generator whose every output is a strong
// mix of its counter, so any (tensor, row) can start its own stream.
struct SplitMix {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char ch : s) h = (h ^ ch) * 0x100000001B3ull;
  return h;
}

// Uniform in [-1, 1) from 24 random bits.
inline float uniform(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

// Values of a float row: center + half_width * U[-1, 1).
void fill_uniform(SplitMix& rng, formats::DType dt, uint64_t n, float center, float half_width,
                  uint8_t* out) {
  for (uint64_t i = 0; i < n; i += 2) {
    const uint64_t r = rng.next();
    const float pair[2] = {center + half_width * uniform(static_cast<uint32_t>(r)),
                           center + half_width * uniform(static_cast<uint32_t>(r >> 32))};
    for (uint64_t j = 0; j < 2 && i + j < n; ++j) {
      if (dt == formats::DType::kF32) {
        std::memcpy(out + 4 * (i + j), &pair[j], 4);
      } else {
        const uint16_t h = kernels::f32_to_bf16(pair[j]);
        std::memcpy(out + 2 * (i + j), &h, 2);
      }
    }
  }
}

// RMS of the 16 E2M1 values drawn uniformly: sqrt(68.5 / 8).
constexpr double kFp4Rms = 2.9260894;

}  // namespace

uint64_t row_elems(const WeightSpec& s) {
  if (s.shape.empty()) return 1;
  if (s.kind == TensorKind::kBytes && s.shape.back() == 16 && s.shape.size() >= 2 &&
      (s.role == TensorRole::kGateUpBlocks || s.role == TensorRole::kDownBlocks)) {
    return s.shape[s.shape.size() - 2] * 16;
  }
  return s.shape.back();
}

uint64_t row_count(const WeightSpec& s) {
  uint64_t n = 1;
  for (uint64_t d : s.shape) n *= d;
  const uint64_t e = row_elems(s);
  return e == 0 ? 0 : n / e;
}

formats::DType SourceRows::dtype(const WeightSpec& s) const { return info(s).dtype; }

const formats::TensorInfo& SourceRows::info(const WeightSpec& s) const {
  // bind_weights has checked that every tensor of the list exists.
  return *src_.find(s.name);
}

void SourceRows::row(const WeightSpec& s, uint64_t row, uint8_t* out) const {
  const formats::TensorInfo& t = info(s);
  const uint64_t bytes = t.nbytes / row_count(s);
  std::memcpy(out, t.data + row * bytes, bytes);
}

void RandomRows::row(const WeightSpec& s, uint64_t row, uint8_t* out) const {
  SplitMix rng{seed_ ^ fnv1a(s.name)};
  rng.state ^= rng.next() + row * 0xD1B54A32D192ED03ull;
  const uint64_t n = row_elems(s);
  const float fan_in = static_cast<float>(s.shape.empty() ? 1 : s.shape.back());
  switch (s.role) {
    case TensorRole::kGateUpBlocks:
    case TensorRole::kDownBlocks:
      for (uint64_t i = 0; i < n; i += 8) {
        const uint64_t r = rng.next();
        std::memcpy(out + i, &r, n - i < 8 ? n - i : 8);
      }
      return;
    case TensorRole::kGateUpScales:
    case TensorRole::kDownScales: {
      // 32 inputs per scale: the variance of a row's dot product with a unit
      // input is fan_in (2^(e-127) kFp4Rms)^2 ~ 1, with e one lower at random.
      const double in = static_cast<double>(s.shape.back()) * 32.0;
      const int e0 =
          127 + static_cast<int>(std::lround(std::log2(1.0 / (kFp4Rms * std::sqrt(in)))));
      for (uint64_t i = 0; i < n; ++i) {
        const int e = e0 - static_cast<int>((rng.next() >> 63) & 1u);
        out[i] = static_cast<uint8_t>(e < 1 ? 1 : e > 254 ? 254 : e);
      }
      return;
    }
    case TensorRole::kEmbed:  // unit variance: the residual stream starts O(1)
      fill_uniform(rng, s.dtype, n, 0.0f, std::sqrt(3.0f), out);
      return;
    case TensorRole::kAttnNorm:
    case TensorRole::kMoeNorm:
    case TensorRole::kFinalNorm:
      fill_uniform(rng, s.dtype, n, 1.0f, 0.1f, out);
      return;
    case TensorRole::kSinks:
      fill_uniform(rng, s.dtype, n, 0.0f, 1.0f, out);
      return;
    case TensorRole::kRouterBias:
      fill_uniform(rng, s.dtype, n, 0.0f, 0.1f, out);
      return;
    default:
      if (s.kind == TensorKind::kDense) {  // variance 1 / fan_in
        fill_uniform(rng, s.dtype, n, 0.0f, std::sqrt(3.0f / fan_in), out);
      } else {  // attention and expert biases
        fill_uniform(rng, s.dtype, n, 0.0f, 0.05f, out);
      }
      return;
  }
}

}  // namespace quarry::convert
