// The weight bytes one decoded token reads: the roofline of memory-bound
// decode. At batch 1 every dense matrix is read once per token, but only
// n_expert_active of the n_expert experts of each layer, and one row of the
// embedding table; so tokens/s can be at most read_bandwidth / total().
//
// Bytes are counted as the file stores the tensors (the mapped pages the
// kernels stream). Small vectors stored as BF16 are read from f32 copies made
// at load, twice their file bytes; they are ~0.06% of the total, so the
// difference is left out rather than tying this to the binder's choices. KV
// cache and activation traffic is not counted either: it grows with the
// context, not with the model.
#pragma once

#include <cstdint>

#include "model/gpt_oss_config.h"
#include "model/gpt_oss_model.h"
#include "model/gpt_oss_weights.h"

namespace quarry::model {

struct DecodeFootprint {
  uint64_t experts = 0;    // active experts: MXFP4 codes + scales + biases
  uint64_t attention = 0;  // q/k/v/o matrices, their biases, sinks
  uint64_t router = 0;     // router matrix + bias
  uint64_t norms = 0;      // attention, MoE and final RMSNorm gains
  uint64_t lm_head = 0;    // the whole unembedding (logits for every token id)
  uint64_t embedding = 0;  // one row of the embedding table

  uint64_t total() const { return experts + attention + router + norms + lm_head + embedding; }
};

// For a checkpoint of `c` in `format` with the dtypes its writer uses
// (WeightSpec::dtype: BF16 dense and vectors for the HF release, F32 vectors
// in GGUF). For the gpt-oss-20b shape in the HF layout: 3,708,089,088 bytes.
DecodeFootprint decode_footprint(const GptOssConfig& c, WeightFormat format = WeightFormat::kHF);

// For a loaded model, from the dtypes and sizes of the tensors it is bound to.
DecodeFootprint decode_footprint(const GptOssModel& m);

}  // namespace quarry::model
