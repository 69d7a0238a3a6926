#include "model/footprint.h"

#include <functional>

#include "formats/tensor.h"

namespace quarry::model {
namespace {

// Adds the part of a tensor of `nbytes` bytes that one decoded token reads.
void add_share(const GptOssConfig& c, const WeightSpec& s, uint64_t nbytes, DecodeFootprint& f) {
  using R = TensorRole;
  switch (s.role) {
    case R::kEmbed:
      f.embedding += nbytes / c.n_vocab;
      return;
    case R::kAttnNorm:
    case R::kMoeNorm:
    case R::kFinalNorm:
      f.norms += nbytes;
      return;
    case R::kWq:
    case R::kBq:
    case R::kWk:
    case R::kBk:
    case R::kWv:
    case R::kBv:
    case R::kWo:
    case R::kBo:
    case R::kSinks:
      f.attention += nbytes;
      return;
    case R::kRouter:
    case R::kRouterBias:
      f.router += nbytes;
      return;
    case R::kLmHead:
      f.lm_head += nbytes;
      return;
    case R::kGateUpBlocks:
    case R::kGateUpScales:
    case R::kGateUpBias:
    case R::kDownBlocks:
    case R::kDownScales:
    case R::kDownBias:
    case R::kGateExps:
    case R::kUpExps:
    case R::kGateUpExps:
    case R::kDownExps:
    case R::kGateExpsBias:
    case R::kUpExpsBias:
    case R::kGateUpExpsBias:
      // Every expert tensor is [n_expert][...] with equal slices, so the
      // division is exact.
      f.experts += nbytes / c.n_expert * c.n_expert_active;
      return;
  }
}

}  // namespace

DecodeFootprint decode_footprint(const GptOssConfig& c, WeightFormat format) {
  DecodeFootprint f;
  for_each_tensor(c, format, [&](const WeightSpec& s) {
    const auto numel = formats::checked_numel(s.shape);
    const auto nbytes = numel ? formats::dtype_nbytes(s.dtype, *numel) : std::nullopt;
    add_share(c, s, nbytes.value_or(0), f);
  });
  return f;
}

DecodeFootprint decode_footprint(const GptOssModel& m) {
  const GptOssConfig& c = m.config();
  DecodeFootprint f;
  for_each_tensor(c, m.weights().format, [&](const WeightSpec& s) {
    // Binding succeeded, so every listed tensor is present with its shape.
    const formats::TensorInfo* t = m.source().find(s.name);
    if (t == nullptr) return;
    uint64_t nbytes = t->nbytes;
    // Q8 (--weights-int8): one byte per weight plus an f32 scale per 32.
    if (m.dense_q8() && s.kind == TensorKind::kDense && s.role != TensorRole::kEmbed) {
      const auto numel = formats::checked_numel(s.shape);
      if (numel) nbytes = *numel + *numel / 32 * 4;
    }
    add_share(c, s, nbytes, f);
  });
  return f;
}

}  // namespace quarry::model
