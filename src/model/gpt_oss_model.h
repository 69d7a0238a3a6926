// A loaded gpt-oss model: its config, the tensor source that owns the mapped
// file(s), and the weights bound in place over them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/thread_pool.h"
#include "formats/tensor.h"
#include "model/gpt_oss_config.h"
#include "model/gpt_oss_weights.h"

namespace quarry::model {

class GptOssModel {
 public:
  // Binds the weights of `source` (checked against `config`).
  static Result<std::unique_ptr<GptOssModel>> create(GptOssConfig config,
                                                     std::unique_ptr<formats::TensorSource> source);

  const GptOssConfig& config() const { return config_; }
  const GptOssWeights& weights() const { return *weights_; }
  const formats::TensorSource& source() const { return *source_; }

  // The optional lower precision (`--weights-int8`): requantizes the dense
  // matrices read per token — attention q/k/v/o, router, lm_head — to Q8
  // (int8 per 32 inputs with an f32 scale; the embedding stays as stored),
  // and lets the kernel read those instead of the mapped BF16 (whose pages are
  // dropped from memory). Returns the bytes of weights read per token it
  // saves. Not reversible.
  Result<uint64_t> quantize_dense_q8(ThreadPool& pool);
  bool dense_q8() const { return dense_q8_; }

  // Brings the mapped weights into memory. kBackground asks the kernel to
  // start reading them (MADV_WILLNEED) and returns at once, so that a
  // server's first requests do not wait on the disk page by page; kNow faults
  // every page in before it returns (quarry bench: its runs then time
  // decoding, not first touches of experts the warm-up did not route to);
  // kLocked also keeps them in RAM (mlock) while the model lives, so the page
  // cache cannot drop an idle server's weights (quarry serve --mlock).
  // The mapped pages that quantize_dense_q8 dropped stay out.
  enum class Residency { kBackground, kNow, kLocked };
  Status bring_in(Residency how) const;

 private:
  GptOssModel() = default;
  GptOssConfig config_;
  std::unique_ptr<formats::TensorSource> source_;
  std::unique_ptr<GptOssWeights> weights_;
  bool dense_q8_ = false;
  std::vector<const void*> dropped_;  // tensors whose pages quantize_dense_q8 dropped
};

// A directory -> Hugging Face checkpoint (config.json, generation_config.json,
// model.safetensors or an index with shards); a `.gguf` file -> GGUF.
Result<std::unique_ptr<GptOssModel>> load_model(const std::string& path);

// Reads every MXFP4 scale of the experts and fails on the first 255 (NaN in
// OCP MXFP4), naming the tensor, the block and its byte offset. Opt-in
// (`--check-weights`): it touches every expert page of a GGUF file, since its
// scales sit between the codes.
Status check_expert_scales(const GptOssModel& m);

}  // namespace quarry::model
