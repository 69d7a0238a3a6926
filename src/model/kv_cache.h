// The KV cache: fixed-size blocks of positions, addressed per sequence through
// a block table (so a serving engine can page, share and free them). One pool
// per layer holds K and V rows of n_kv_head * d_head floats (fp32: exact mode).
// Sliding-window layers only ever read the last `window` positions, so a later
// allocator may give them a ring of blocks; attention already reads every
// position through the table.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"
#include "kernels/views.h"

namespace quarry::model {

// One sequence's blocks: position t lives in blocks[t / block_size].
struct KvSequence {
  std::vector<int32_t> blocks;
};

class KvCache {
 public:
  // n_blocks blocks of block_size positions for each of n_layer layers.
  KvCache(size_t n_layer, size_t row_width, size_t block_size, size_t n_blocks);

  size_t n_layer() const { return n_layer_; }
  size_t row_width() const { return row_width_; }
  size_t block_size() const { return block_size_; }
  size_t n_blocks() const { return n_blocks_; }
  size_t free_blocks() const { return free_.size(); }
  size_t bytes() const { return n_layer_ * 2 * layer_floats() * sizeof(float); }

  // Grows `seq` until it can hold positions [0, n_positions); an error when the
  // pool runs out (the sequence keeps what it had).
  Status reserve(KvSequence& seq, size_t n_positions);
  // Returns the sequence's blocks to the pool.
  void release(KvSequence& seq);
  size_t capacity(const KvSequence& seq) const { return seq.blocks.size() * block_size_; }

  float* k_row(size_t layer, const KvSequence& seq, size_t pos);
  float* v_row(size_t layer, const KvSequence& seq, size_t pos);
  kernels::KvLayerView layer_view(size_t layer, const KvSequence& seq) const;

 private:
  size_t layer_floats() const { return n_blocks_ * block_size_ * row_width_; }
  float* k_pool(size_t layer) const { return data_.get() + layer * 2 * layer_floats(); }
  float* v_pool(size_t layer) const { return k_pool(layer) + layer_floats(); }
  size_t row_offset(const KvSequence& seq, size_t pos) const;

  size_t n_layer_, row_width_, block_size_, n_blocks_;
  std::unique_ptr<float[]> data_;  // [layer][K|V][block][slot][row_width]
  std::vector<int32_t> free_;      // free block ids, popped from the back
};

}  // namespace quarry::model
