// The KV cache: fixed-size blocks of positions, addressed per sequence through
// block tables (so a serving engine can page, share and free them). K and V
// rows hold n_kv_head * d_head floats (fp32: exact mode).
//
// Layers come in two groups when a model mixes both kinds: full-attention
// layers read every earlier position, sliding-window layers only the last
// `window`. Each group has its own block table per sequence, so the window
// group can drop the blocks that fell out of its window (entries of -1) while
// the full group keeps them all. A block of the pool holds one group's layers
// (max(#full, #window) layer slots), so both tables draw from one pool. A model
// with one kind of layer uses a single group (`blocks`).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"
#include "kernels/views.h"

namespace quarry::model {

// One sequence's blocks: position t of a full-attention layer lives in
// blocks[t / block_size], of a sliding-window layer in window_blocks[...]
// (used only when the cache has a window group; -1: dropped).
struct KvSequence {
  std::vector<int32_t> blocks;
  std::vector<int32_t> window_blocks;
};

class KvCache {
 public:
  // n_blocks blocks of block_size positions. `sliding[l]` marks layer l as a
  // sliding-window layer (empty: none).
  KvCache(size_t n_layer, size_t row_width, size_t block_size, size_t n_blocks,
          const std::vector<bool>& sliding = {});

  // Layer slots in one block for this layout (see the top of the file).
  static size_t layers_per_block(size_t n_layer, const std::vector<bool>& sliding);
  // Whether the layout has two groups (and sequences use window_blocks).
  static bool has_window_group(size_t n_layer, const std::vector<bool>& sliding);
  // Bytes of one pool block (K and V, fp32) for this layout.
  static size_t block_bytes(size_t n_layer, const std::vector<bool>& sliding, size_t row_width,
                            size_t block_size) {
    return layers_per_block(n_layer, sliding) * 2 * block_size * row_width * sizeof(float);
  }

  size_t n_layer() const { return n_layer_; }
  size_t row_width() const { return row_width_; }
  size_t block_size() const { return block_size_; }
  size_t n_blocks() const { return n_blocks_; }
  size_t free_blocks() const { return free_.size(); }
  bool has_window_group() const { return windowed_; }
  bool is_window_layer(size_t layer) const { return group_[layer]; }
  size_t block_bytes() const { return slots_ * 2 * block_size_ * row_width_ * sizeof(float); }
  size_t bytes() const { return n_blocks_ * block_bytes(); }

  // Grows `seq` (every table it uses) until it can hold positions
  // [0, n_positions); an error when the pool runs out (the sequence keeps what
  // it had).
  Status reserve(KvSequence& seq, size_t n_positions);
  // Returns the sequence's blocks to the pool.
  void release(KvSequence& seq);
  // Positions every table of `seq` has blocks for (dropped entries count).
  size_t capacity(const KvSequence& seq) const;
  // The block table `layer` reads `seq` through.
  const std::vector<int32_t>& table(size_t layer, const KvSequence& seq) const {
    return is_window_layer(layer) ? seq.window_blocks : seq.blocks;
  }

  float* k_row(size_t layer, const KvSequence& seq, size_t pos);
  float* v_row(size_t layer, const KvSequence& seq, size_t pos);
  kernels::KvLayerView layer_view(size_t layer, const KvSequence& seq) const;

 private:
  size_t slot_floats() const { return n_blocks_ * block_size_ * row_width_; }
  float* k_pool(size_t layer) const { return data_.get() + slot_[layer] * 2 * slot_floats(); }
  float* v_pool(size_t layer) const { return k_pool(layer) + slot_floats(); }
  size_t row_offset(size_t layer, const KvSequence& seq, size_t pos) const;

  size_t n_layer_, row_width_, block_size_, n_blocks_;
  bool windowed_;
  std::vector<bool> group_;        // per layer: in the window group
  std::vector<size_t> slot_;       // per layer: its slot within its group's blocks
  size_t slots_;                   // layer slots per block
  std::unique_ptr<float[]> data_;  // [slot][K|V][block][position][row_width]
  std::vector<int32_t> free_;      // free block ids, popped from the back
};

}  // namespace quarry::model
