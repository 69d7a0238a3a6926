#include "model/kv_cache.h"

#include <algorithm>
#include <string>

namespace quarry::model {
namespace {

size_t count_sliding(size_t n_layer, const std::vector<bool>& sliding) {
  size_t n = 0;
  for (size_t l = 0; l < n_layer && l < sliding.size(); ++l) n += sliding[l] ? 1 : 0;
  return n;
}

}  // namespace

bool KvCache::has_window_group(size_t n_layer, const std::vector<bool>& sliding) {
  const size_t n = count_sliding(n_layer, sliding);
  return n > 0 && n < n_layer;
}

size_t KvCache::layers_per_block(size_t n_layer, const std::vector<bool>& sliding) {
  if (!has_window_group(n_layer, sliding)) return n_layer;
  const size_t n = count_sliding(n_layer, sliding);
  return std::max(n, n_layer - n);
}

KvCache::KvCache(size_t n_layer, size_t row_width, size_t block_size, size_t n_blocks,
                 const std::vector<bool>& sliding)
    : n_layer_(n_layer),
      row_width_(row_width),
      block_size_(std::max<size_t>(1, block_size)),
      n_blocks_(n_blocks),
      windowed_(has_window_group(n_layer, sliding)),
      group_(n_layer, false),
      slot_(n_layer, 0),
      slots_(layers_per_block(n_layer, sliding)) {
  size_t next[2] = {0, 0};
  for (size_t l = 0; l < n_layer; ++l) {
    group_[l] = windowed_ && sliding[l];
    slot_[l] = next[group_[l] ? 1 : 0]++;
  }
  // Left uninitialised: pages are touched only when positions are written.
  data_.reset(new float[slots_ * 2 * n_blocks * block_size_ * row_width]);
  free_.reserve(n_blocks_);
  for (size_t b = n_blocks_; b-- > 0;) free_.push_back(static_cast<int32_t>(b));
}

Status KvCache::reserve(KvSequence& seq, size_t n_positions) {
  const size_t need = (n_positions + block_size_ - 1) / block_size_;
  const auto more = [&](const std::vector<int32_t>& t) {
    return need > t.size() ? need - t.size() : 0;
  };
  const size_t extra = more(seq.blocks) + (windowed_ ? more(seq.window_blocks) : 0);
  if (extra > free_.size()) {
    return make_error("KV cache full: " + std::to_string(n_positions) + " positions need " +
                      std::to_string(extra) + " more blocks of " + std::to_string(block_size_) +
                      ", " + std::to_string(free_.size()) + " free");
  }
  const auto grow = [&](std::vector<int32_t>& t) {
    while (t.size() < need) {
      t.push_back(free_.back());
      free_.pop_back();
    }
  };
  grow(seq.blocks);
  if (windowed_) grow(seq.window_blocks);
  return Status::Ok();
}

void KvCache::release(KvSequence& seq) {
  for (const auto* t : {&seq.blocks, &seq.window_blocks}) {
    for (int32_t b : *t) {
      if (b >= 0) free_.push_back(b);
    }
  }
  seq.blocks.clear();
  seq.window_blocks.clear();
}

size_t KvCache::capacity(const KvSequence& seq) const {
  size_t n = seq.blocks.size();
  if (windowed_) n = std::min(n, seq.window_blocks.size());
  return n * block_size_;
}

size_t KvCache::row_offset(size_t layer, const KvSequence& seq, size_t pos) const {
  const std::vector<int32_t>& t = table(layer, seq);
  return (static_cast<size_t>(t[pos / block_size_]) * block_size_ + pos % block_size_) * row_width_;
}

float* KvCache::k_row(size_t layer, const KvSequence& seq, size_t pos) {
  return k_pool(layer) + row_offset(layer, seq, pos);
}

float* KvCache::v_row(size_t layer, const KvSequence& seq, size_t pos) {
  return v_pool(layer) + row_offset(layer, seq, pos);
}

kernels::KvLayerView KvCache::layer_view(size_t layer, const KvSequence& seq) const {
  kernels::KvLayerView v;
  v.k = k_pool(layer);
  v.v = v_pool(layer);
  v.block_table = table(layer, seq).data();
  v.block_size = block_size_;
  v.row_stride = row_width_;
  return v;
}

}  // namespace quarry::model
