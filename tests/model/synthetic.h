// Test helpers: an in-memory TensorSource and deterministic synthetic gpt-oss
// weights that encode the SAME logical weights in every naming scheme (HF,
// GGUF, GGUF with fused gate/up), so the forward passes over them must agree.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "formats/tensor.h"
#include "model/gpt_oss_config.h"
#include "model/gpt_oss_weights.h"

namespace quarry::model::testing {

class MemorySource final : public formats::TensorSource {
 public:
  explicit MemorySource(std::string origin) : origin_(std::move(origin)) {}
  // Adds a tensor; `bytes` are copied into storage that never moves.
  void add(const std::string& name, formats::DType dtype, std::vector<uint64_t> shape,
           std::vector<uint8_t> bytes);
  void remove(const std::string& name);
  formats::TensorInfo* mutable_find(const std::string& name);

  const formats::TensorInfo* find(std::string_view name) const override;
  std::vector<std::string> names() const override;
  const std::string& origin() const override { return origin_; }

 private:
  std::string origin_;
  std::vector<std::unique_ptr<formats::TensorInfo>> infos_;
  std::vector<std::unique_ptr<uint8_t[]>> storage_;
};

// A small config with every feature on (sliding + full layers, GQA, YaRN).
GptOssConfig small_config();

// Random-but-deterministic weights for `c` in `format`.
std::unique_ptr<MemorySource> synthetic_weights(const GptOssConfig& c, WeightFormat format,
                                                uint32_t seed);

}  // namespace quarry::model::testing
