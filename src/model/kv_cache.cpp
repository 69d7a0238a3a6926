#include "model/kv_cache.h"

#include <algorithm>
#include <string>

namespace quarry::model {

KvCache::KvCache(size_t n_layer, size_t row_width, size_t block_size, size_t n_blocks)
    : n_layer_(n_layer),
      row_width_(row_width),
      block_size_(std::max<size_t>(1, block_size)),
      n_blocks_(n_blocks),
      // Left uninitialised: pages are touched only when positions are written.
      data_(new float[n_layer * 2 * n_blocks * block_size_ * row_width]) {
  free_.reserve(n_blocks_);
  for (size_t b = n_blocks_; b-- > 0;) free_.push_back(static_cast<int32_t>(b));
}

Status KvCache::reserve(KvSequence& seq, size_t n_positions) {
  const size_t need = (n_positions + block_size_ - 1) / block_size_;
  if (need > seq.blocks.size() && need - seq.blocks.size() > free_.size()) {
    return make_error("KV cache full: " + std::to_string(n_positions) + " positions need " +
                      std::to_string(need - seq.blocks.size()) + " more blocks of " +
                      std::to_string(block_size_) + ", " + std::to_string(free_.size()) + " free");
  }
  while (seq.blocks.size() < need) {
    seq.blocks.push_back(free_.back());
    free_.pop_back();
  }
  return Status::Ok();
}

void KvCache::release(KvSequence& seq) {
  for (int32_t b : seq.blocks) {
    if (b >= 0) free_.push_back(b);
  }
  seq.blocks.clear();
}

size_t KvCache::row_offset(const KvSequence& seq, size_t pos) const {
  return (static_cast<size_t>(seq.blocks[pos / block_size_]) * block_size_ + pos % block_size_) *
         row_width_;
}

float* KvCache::k_row(size_t layer, const KvSequence& seq, size_t pos) {
  return k_pool(layer) + row_offset(seq, pos);
}

float* KvCache::v_row(size_t layer, const KvSequence& seq, size_t pos) {
  return v_pool(layer) + row_offset(seq, pos);
}

kernels::KvLayerView KvCache::layer_view(size_t layer, const KvSequence& seq) const {
  kernels::KvLayerView v;
  v.k = k_pool(layer);
  v.v = v_pool(layer);
  v.block_table = seq.blocks.data();
  v.block_size = block_size_;
  v.row_stride = row_width_;
  return v;
}

}  // namespace quarry::model
