// gpt-oss weights: ONE list of tensors (names, shapes, dtypes) per naming
// scheme, walked by a visitor — the loader binds it, the validator checks it
// and `quarry synth` writes it — plus the bound views the forward pass reads.
//
// Dense matrices and MXFP4 experts are used in place from the mapped file.
// Small vectors (norm gains, biases, sinks: ~0.2% of the model) are converted
// to f32 once at load unless the file already stores them as aligned F32;
// the HF interleaved gate/up bias is split into gate and up halves then.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "formats/tensor.h"
#include "kernels/views.h"
#include "model/gpt_oss_config.h"

namespace quarry::model {

enum class WeightFormat {
  kHF,    // Hugging Face release names, MXFP4 as *_blocks + *_scales, gate/up interleaved
  kGguf,  // llama.cpp names, block_mxfp4, separate ffn_gate_exps / ffn_up_exps
  kGgufFusedGateUp,  // llama.cpp's newer ffn_gate_up_exps: [gate rows; up rows]
};
const char* weight_format_name(WeightFormat f);

// What a tensor is for, independent of its name in a given format.
enum class TensorRole : uint8_t {
  kEmbed,
  kAttnNorm,
  kWq,
  kBq,
  kWk,
  kBk,
  kWv,
  kBv,
  kWo,
  kBo,
  kSinks,
  kMoeNorm,
  kRouter,
  kRouterBias,
  kGateUpBlocks,    // HF: (E, 2 d_ff, d_model/32, 16) U8, rows interleaved gate/up
  kGateUpScales,    // HF: (E, 2 d_ff, d_model/32) U8
  kGateUpBias,      // HF: (E, 2 d_ff) interleaved
  kDownBlocks,      // HF: (E, d_model, d_ff/32, 16) U8
  kDownScales,      // HF: (E, d_model, d_ff/32) U8
  kDownBias,        // (E, d_model)
  kGateExps,        // GGUF: (E, d_ff, d_model) MXFP4
  kUpExps,          // GGUF: (E, d_ff, d_model) MXFP4
  kGateUpExps,      // GGUF fused: (E, 2 d_ff, d_model) MXFP4, gate rows then up rows
  kDownExps,        // GGUF: (E, d_model, d_ff) MXFP4
  kGateExpsBias,    // GGUF: (E, d_ff)
  kUpExpsBias,      // GGUF: (E, d_ff)
  kGateUpExpsBias,  // GGUF fused: (E, 2 d_ff), gate half then up half
  kFinalNorm,
  kLmHead,
};

enum class TensorKind : uint8_t {
  kDense,   // 2-D matrix, BF16 / F16 / F32, used in place
  kVector,  // BF16 / F16 / F32 vector(s), read as f32
  kBytes,   // U8 (MXFP4 codes or scales)
  kMxfp4,   // ggml block_mxfp4 (shape in logical elements)
};

struct WeightSpec {
  std::string name;
  TensorRole role;
  int layer = -1;  // -1: not per layer
  TensorKind kind;
  std::vector<uint64_t> shape;  // row-major, outermost first
  formats::DType dtype;         // what the release / llama.cpp's converter writes
};

// Every tensor of the model in `format`, in file order (global tensors around
// the layers).
void for_each_tensor(const GptOssConfig& c, WeightFormat format,
                     const std::function<void(const WeightSpec&)>& fn);

// The naming scheme of `src` (from the tensors of layer 0); an error lists
// what was looked for.
Result<WeightFormat> detect_weight_format(const formats::TensorSource& src);

// --- bound views ---

struct ExpertWeights {
  kernels::Mxfp4Matrix gate, up, down;  // (d_ff, d_model), (d_ff, d_model), (d_model, d_ff)
  const float* gate_bias = nullptr;     // [d_ff]
  const float* up_bias = nullptr;       // [d_ff]
  const float* down_bias = nullptr;     // [d_model]
};

struct LayerWeights {
  bool sliding = false;
  const float* attn_norm = nullptr;  // [d_model]
  kernels::DenseMatrix wq, wk, wv, wo;
  const float* bq = nullptr;     // [n_head d_head]
  const float* bk = nullptr;     // [n_kv_head d_head]
  const float* bv = nullptr;     // [n_kv_head d_head]
  const float* bo = nullptr;     // [d_model]
  const float* sinks = nullptr;  // [n_head]
  const float* moe_norm = nullptr;
  kernels::DenseMatrix router;  // (n_expert, d_model)
  const float* router_bias = nullptr;
  std::vector<ExpertWeights> experts;
};

struct GptOssWeights {
  WeightFormat format = WeightFormat::kHF;
  kernels::DenseMatrix embed;  // (n_vocab, d_model)
  std::vector<LayerWeights> layers;
  const float* final_norm = nullptr;
  kernels::DenseMatrix lm_head;  // (n_vocab, d_model)
  std::vector<float> converted;  // storage of the converted vectors (never resized)
  // Storage of the Q8 matrices (quantize_dense_q8).
  std::vector<std::unique_ptr<int8_t[]>> q8_codes;
  std::vector<std::unique_ptr<float[]>> q8_scales;
};

// Binds every tensor of `src` (format detected) after checking dtype and
// shape; messages name the tensor and its file. `src` must outlive the result.
Result<std::unique_ptr<GptOssWeights>> bind_weights(const GptOssConfig& c,
                                                    const formats::TensorSource& src);

}  // namespace quarry::model
