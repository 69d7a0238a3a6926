// Row access to the tensors of a gpt-oss checkpoint in the Hugging Face
// layout, whether they come from a file (`quarry convert`) or from the random
// generator (`quarry synth`). Both writers (safetensors and GGUF) are built on
// it, so a synthesized GGUF holds exactly the weights of the synthesized HF
// checkpoint with the same seed.
//
// A row is the innermost dimension of a tensor, except for the MXFP4 code
// tensors (`*_blocks`, (..., G, 16)) whose row is the last two: one matrix row
// of an expert. Rows are independent, so writers fill them in parallel.
#pragma once

#include <cstdint>
#include <string>

#include "formats/tensor.h"
#include "model/gpt_oss_weights.h"

namespace quarry::convert {

using model::GptOssConfig;
using model::WeightSpec;

// Elements per row of `s` (see above) and the number of rows.
uint64_t row_elems(const WeightSpec& s);
uint64_t row_count(const WeightSpec& s);

class HfRows {
 public:
  virtual ~HfRows() = default;
  // The dtype the tensor has (BF16, F16 or F32 for matrices and vectors; U8
  // for MXFP4 codes and scales).
  virtual formats::DType dtype(const WeightSpec& s) const = 0;
  // Writes row `row` of `s` (row_elems(s) elements of dtype(s)) to `out`.
  virtual void row(const WeightSpec& s, uint64_t row, uint8_t* out) const = 0;
};

// Rows read from a bound HF-layout source (checked by model::bind_weights).
class SourceRows final : public HfRows {
 public:
  explicit SourceRows(const formats::TensorSource& src) : src_(src) {}
  formats::DType dtype(const WeightSpec& s) const override;
  void row(const WeightSpec& s, uint64_t row, uint8_t* out) const override;

 private:
  const formats::TensorInfo& info(const WeightSpec& s) const;
  const formats::TensorSource& src_;
};

// Random weights, a pure function of (seed, tensor name, row), scaled so the
// activations of a full-size model stay finite and O(1): matrices uniform with
// variance 1/fan_in, MXFP4 codes uniform with scales giving the same variance,
// norm gains near 1, biases small, sinks O(1). Dtypes as in the release.
class RandomRows final : public HfRows {
 public:
  explicit RandomRows(uint64_t seed) : seed_(seed) {}
  formats::DType dtype(const WeightSpec& s) const override { return s.dtype; }
  void row(const WeightSpec& s, uint64_t row, uint8_t* out) const override;

 private:
  uint64_t seed_;
};

}  // namespace quarry::convert
