// Writes safetensors files the way Hugging Face's library does: the header
// padded with spaces to a multiple of 8, tensors contiguous, ordered by
// element size (largest first) and name so that each is naturally aligned.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "formats/tensor_spec.h"

namespace quarry::formats {

class ByteSink;

struct ShardOptions {
  // Tensor bytes per shard at most (a larger tensor gets a shard of its own).
  uint64_t max_shard_bytes = 4'800'000'000;  // what the gpt-oss release used
  // true: the release's names model-00000-of-0000N ... model-0000N-of-0000N
  // (N = last index); false: the usual HF model-00001-of-0000N (N = count).
  bool release_naming = true;
};

class SafetensorsWriter {
 public:
  // Adds a tensor with a copy of its bytes (size must match shape and dtype).
  Status add(TensorSpec spec, std::span<const uint8_t> bytes);
  // Adds a tensor whose bytes `fill` produces when the file is written.
  Status add(TensorSpec spec, TensorFiller fill);
  void set_metadata(std::string key, std::string value) { metadata_[key] = std::move(value); }
  void set_progress(WriteProgress progress) { progress_ = std::move(progress); }

  size_t tensor_count() const { return entries_.size(); }
  uint64_t data_bytes() const;  // sum of all tensor sizes

  // One file with every tensor (written to path.tmp, then renamed).
  Status write(const std::string& path) const;
  // The same file in memory (for small files: tests, fuzz seeds).
  Result<std::vector<uint8_t>> serialize() const;
  // The release layout in `dir`: shards in insertion order plus
  // model.safetensors.index.json {"metadata": {"total_size"}, "weight_map"}.
  // Returns the shard file names.
  Result<std::vector<std::string>> write_sharded(const std::string& dir,
                                                 const ShardOptions& options) const;

 private:
  struct Entry {
    TensorSpec spec;
    uint64_t nbytes = 0;
    std::vector<uint8_t> bytes;  // when added with bytes
    TensorFiller fill;           // otherwise
  };
  Status check(const TensorSpec& spec, uint64_t* nbytes) const;
  // Entries in file order and the header (padded) for a subset of entries.
  std::vector<const Entry*> file_order(const std::vector<size_t>& subset) const;
  std::string header(const std::vector<const Entry*>& order) const;
  Status write_to(ByteSink& sink, const std::vector<size_t>& subset, uint64_t* done,
                  uint64_t total) const;

  std::vector<Entry> entries_;
  std::map<std::string, size_t, std::less<>> names_;
  std::map<std::string, std::string> metadata_;
  WriteProgress progress_;
};

}  // namespace quarry::formats
