// The gpt-oss model as the engine's StepModel: GptOssForward plus a KV pool
// whose block ids the engine hands out itself (KvCache's own reserve/release
// free list stays unused).
#include <memory>

#include "engine/engine.h"
#include "model/kv_cache.h"

namespace quarry::engine {
namespace {

class GptOssStepModel final : public StepModel {
 public:
  GptOssStepModel(const model::GptOssModel& m, const kernels::Ops& ops, ThreadPool& pool,
                  size_t kv_blocks, size_t block_size, size_t max_chunk_tokens)
      : fwd_(m, ops, pool, max_chunk_tokens),
        kv_(m.config().n_layer, m.config().kv_width(), block_size, kv_blocks,
            m.config().layer_sliding) {}

  size_t n_vocab() const override { return fwd_.config().n_vocab; }
  size_t max_positions() const override { return fwd_.config().max_position; }
  size_t kv_blocks() const override { return kv_.n_blocks(); }
  size_t block_size() const override { return kv_.block_size(); }
  size_t kv_window() const override {
    return kv_.has_window_group() ? fwd_.config().sliding_window : 0;
  }
  Status forward(const model::ForwardBatch& batch) override { return fwd_.forward(batch, kv_); }

 private:
  model::GptOssForward fwd_;
  model::KvCache kv_;
};

}  // namespace

std::unique_ptr<StepModel> make_gpt_oss_step_model(const model::GptOssModel& model,
                                                   const kernels::Ops& ops, ThreadPool& pool,
                                                   size_t kv_blocks, size_t block_size,
                                                   size_t max_chunk_tokens) {
  return std::make_unique<GptOssStepModel>(model, ops, pool, kv_blocks, block_size,
                                           max_chunk_tokens);
}

}  // namespace quarry::engine
