#include "synthetic.h"

#include <cmath>
#include <cstring>

#include "kernels/numeric.h"

namespace quarry::model::testing {
namespace {

using formats::DType;

// splitmix64 of a key: the value of every logical weight depends only on
// (seed, what, layer, indices), never on the file layout.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
uint64_t key(uint32_t seed, int what, int layer, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  return mix(mix(mix(mix(mix(seed) ^ static_cast<uint64_t>(what)) ^
                     static_cast<uint64_t>(layer + 1)) ^
                 a) ^
             b) ^
         c;
}
// Uniform in [-1, 1), rounded to bf16 so every format holds it exactly.
float unit(uint64_t k) {
  const float u = static_cast<float>(static_cast<double>(mix(k) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
  return kernels::bf16_to_f32(kernels::f32_to_bf16(u));
}

// Logical matrices/vectors ("what").
enum What { kMat = 1, kVec, kCode, kScale };
enum Mat { kGate = 0, kUp = 1, kDown = 2 };

struct Gen {
  const GptOssConfig& c;
  uint32_t seed;

  float dense(TensorRole role, int layer, uint64_t r, uint64_t col) const {
    const double scale = role == TensorRole::kWo       ? 1.0 / std::sqrt(double(c.q_width()))
                         : role == TensorRole::kRouter ? 2.0 / std::sqrt(double(c.d_model))
                         : role == TensorRole::kEmbed  ? 1.0
                                                       : 1.5 / std::sqrt(double(c.d_model));
    const float v = unit(key(seed, kMat, layer, static_cast<uint64_t>(role), r, col));
    return kernels::bf16_to_f32(kernels::f32_to_bf16(static_cast<float>(v * scale)));
  }
  // Vectors; `slot` distinguishes gate/up/down expert biases.
  float vec(TensorRole role, int layer, uint64_t i, int slot = 0) const {
    const float u = unit(key(seed, kVec, layer, static_cast<uint64_t>(role) * 4 + slot, i));
    float v = u;
    switch (role) {
      case TensorRole::kAttnNorm:
      case TensorRole::kMoeNorm:
      case TensorRole::kFinalNorm:
        v = 1.0f + 0.25f * u;
        break;
      case TensorRole::kSinks:
        v = 0.5f + 2.0f * u;
        break;
      default:
        v = 0.5f * u;
    }
    return kernels::bf16_to_f32(kernels::f32_to_bf16(v));
  }
  // MXFP4 block `g` of row `row` of expert e's matrix `m` in HF form.
  void block(int layer, Mat m, uint64_t e, uint64_t row, uint64_t g, uint8_t codes[16],
             uint8_t* scale) const {
    for (int j = 0; j < 16; ++j) {
      codes[j] =
          static_cast<uint8_t>(mix(key(seed, kCode, layer, m, e * 1000003 + row, g * 16 + j)));
    }
    *scale = static_cast<uint8_t>(122 + mix(key(seed, kScale, layer, m, e * 1000003 + row, g)) % 4);
  }
};

std::vector<uint8_t> encode(const std::vector<float>& v, DType dt) {
  std::vector<uint8_t> out(v.size() * (dt == DType::kF32 ? 4 : 2));
  for (size_t i = 0; i < v.size(); ++i) {
    if (dt == DType::kF32) {
      std::memcpy(&out[4 * i], &v[i], 4);
    } else {
      const uint16_t h = kernels::f32_to_bf16(v[i]);
      std::memcpy(&out[2 * i], &h, 2);
    }
  }
  return out;
}

void hf_to_ggml(const uint8_t* codes, uint8_t scale, uint8_t* out) {
  uint8_t c[32];
  for (int j = 0; j < 16; ++j) {
    c[2 * j] = codes[j] & 0x0F;
    c[2 * j + 1] = codes[j] >> 4;
  }
  out[0] = scale;
  for (int j = 0; j < 16; ++j) out[1 + j] = static_cast<uint8_t>(c[j] | (c[j + 16] << 4));
}

// Which logical matrix and unit row r of an expert tensor holds.
void expert_row(TensorRole role, uint64_t r, uint64_t d_ff, Mat* m, uint64_t* unit_row) {
  switch (role) {
    case TensorRole::kGateUpBlocks:
    case TensorRole::kGateUpScales:
      *m = r % 2 == 0 ? kGate : kUp;
      *unit_row = r / 2;
      return;
    case TensorRole::kGateUpExps:
      *m = r < d_ff ? kGate : kUp;
      *unit_row = r < d_ff ? r : r - d_ff;
      return;
    case TensorRole::kGateExps:
      *m = kGate;
      break;
    case TensorRole::kUpExps:
      *m = kUp;
      break;
    default:
      *m = kDown;
  }
  *unit_row = r;
}

std::vector<uint8_t> make_tensor(const Gen& gen, const WeightSpec& s) {
  const GptOssConfig& c = gen.c;
  const int l = s.layer;
  switch (s.kind) {
    case TensorKind::kDense: {
      std::vector<float> v(s.shape[0] * s.shape[1]);
      for (uint64_t r = 0; r < s.shape[0]; ++r) {
        for (uint64_t col = 0; col < s.shape[1]; ++col) {
          v[r * s.shape[1] + col] = gen.dense(s.role, l, r, col);
        }
      }
      return encode(v, s.dtype);
    }
    case TensorKind::kVector: {
      std::vector<float> v;
      if (s.shape.size() == 1) {
        for (uint64_t i = 0; i < s.shape[0]; ++i) v.push_back(gen.vec(s.role, l, i));
        return encode(v, s.dtype);
      }
      const uint64_t E = s.shape[0], n = s.shape[1], I = c.d_ff;
      for (uint64_t e = 0; e < E; ++e) {
        for (uint64_t i = 0; i < n; ++i) {
          const uint64_t idx = e * 100003;
          switch (s.role) {
            case TensorRole::kGateUpBias:  // interleaved
              v.push_back(gen.vec(TensorRole::kGateUpBias, l, idx + i / 2, i % 2 == 0 ? 0 : 1));
              break;
            case TensorRole::kGateUpExpsBias:  // halves
              v.push_back(gen.vec(TensorRole::kGateUpBias, l, idx + i % I, i < I ? 0 : 1));
              break;
            case TensorRole::kGateExpsBias:
              v.push_back(gen.vec(TensorRole::kGateUpBias, l, idx + i, 0));
              break;
            case TensorRole::kUpExpsBias:
              v.push_back(gen.vec(TensorRole::kGateUpBias, l, idx + i, 1));
              break;
            default:
              v.push_back(gen.vec(s.role, l, idx + i, 2));
          }
        }
      }
      return encode(v, s.dtype);
    }
    case TensorKind::kBytes: {  // HF blocks (E, R, G, 16) or scales (E, R, G)
      const bool scales = s.shape.size() == 3;
      const uint64_t E = s.shape[0], R = s.shape[1], G = s.shape[2];
      std::vector<uint8_t> out;
      for (uint64_t e = 0; e < E; ++e) {
        for (uint64_t r = 0; r < R; ++r) {
          Mat m;
          uint64_t row;
          expert_row(s.role, r, c.d_ff, &m, &row);
          for (uint64_t g = 0; g < G; ++g) {
            uint8_t codes[16], scale;
            gen.block(l, m, e, row, g, codes, &scale);
            if (scales) {
              out.push_back(scale);
            } else {
              out.insert(out.end(), codes, codes + 16);
            }
          }
        }
      }
      return out;
    }
    case TensorKind::kMxfp4: {  // ggml (E, R, K)
      const uint64_t E = s.shape[0], R = s.shape[1], G = s.shape[2] / 32;
      std::vector<uint8_t> out(E * R * G * 17);
      for (uint64_t e = 0; e < E; ++e) {
        for (uint64_t r = 0; r < R; ++r) {
          Mat m;
          uint64_t row;
          expert_row(s.role, r, c.d_ff, &m, &row);
          for (uint64_t g = 0; g < G; ++g) {
            uint8_t codes[16], scale;
            gen.block(l, m, e, row, g, codes, &scale);
            hf_to_ggml(codes, scale, &out[((e * R + r) * G + g) * 17]);
          }
        }
      }
      return out;
    }
  }
  return {};
}

}  // namespace

void MemorySource::add(const std::string& name, formats::DType dtype, std::vector<uint64_t> shape,
                       std::vector<uint8_t> bytes) {
  auto buf = std::make_unique<uint8_t[]>(bytes.size() + 1);
  if (!bytes.empty()) std::memcpy(buf.get(), bytes.data(), bytes.size());
  auto info = std::make_unique<formats::TensorInfo>();
  info->name = name;
  info->dtype = dtype;
  info->shape = std::move(shape);
  info->data = buf.get();
  info->nbytes = bytes.size();
  info->file = origin_;
  storage_.push_back(std::move(buf));
  infos_.push_back(std::move(info));
}

void MemorySource::remove(const std::string& name) {
  for (size_t i = 0; i < infos_.size(); ++i) {
    if (infos_[i]->name == name) {
      infos_.erase(infos_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
}

formats::TensorInfo* MemorySource::mutable_find(const std::string& name) {
  for (auto& i : infos_) {
    if (i->name == name) return i.get();
  }
  return nullptr;
}

const formats::TensorInfo* MemorySource::find(std::string_view name) const {
  for (const auto& i : infos_) {
    if (i->name == name) return i.get();
  }
  return nullptr;
}

std::vector<std::string> MemorySource::names() const {
  std::vector<std::string> n;
  for (const auto& i : infos_) n.push_back(i->name);
  return n;
}

GptOssConfig small_config() {
  GptOssConfig c;
  c.n_layer = 3;
  c.d_model = 64;
  c.n_expert = 5;
  c.n_expert_active = 3;
  c.d_ff = 96;
  c.n_head = 6;
  c.n_kv_head = 2;
  c.d_head = 10;
  c.n_vocab = 300;
  c.sliding_window = 3;
  c.layer_sliding = {true, false, true};
  c.max_position = 4096;
  c.rope_theta = 150000.0;
  c.rope_factor = 32.0;
  c.rope_original_context = 4096.0;
  return c;
}

std::unique_ptr<MemorySource> synthetic_weights(const GptOssConfig& c, WeightFormat format,
                                                uint32_t seed) {
  auto src = std::make_unique<MemorySource>(std::string("synthetic-") + weight_format_name(format));
  const Gen gen{c, seed};
  for_each_tensor(c, format, [&](const WeightSpec& s) {
    src->add(s.name, s.dtype, s.shape, make_tensor(gen, s));
  });
  return src;
}

}  // namespace quarry::model::testing
