// A Hugging Face model directory: model.safetensors.index.json and its shards
// (the gpt-oss release names them model-00000-of-00002 ... model-00002-of-00002),
// or a single model.safetensors; presented as one TensorSource.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "formats/safetensors.h"

namespace quarry::formats {

inline constexpr std::string_view kHfIndexFile = "model.safetensors.index.json";
inline constexpr std::string_view kHfSingleFile = "model.safetensors";

// model.safetensors.index.json: {"metadata": {"total_size": N}, "weight_map": {tensor: shard}}.
struct HfIndex {
  std::optional<uint64_t> total_size;
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name
};
// `name` stands for the file in messages. Shard names must be plain relative
// paths (no absolute path, no "..").
Result<HfIndex> parse_hf_index(std::string_view text, const std::string& name);

class HfCheckpoint final : public TensorSource {
 public:
  // Follows the index when present (every mapped tensor must exist in its
  // shard; total_size, when present, must equal the mapped tensors' bytes),
  // else opens model.safetensors.
  static Result<HfCheckpoint> open(const std::string& dir);

  const TensorInfo* find(std::string_view name) const override;
  std::vector<std::string> names() const override;  // shard by shard, in file order
  const std::string& origin() const override { return dir_; }

  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  uint64_t data_bytes() const;  // sum of the tensors' sizes
  bool sharded() const { return sharded_; }

 private:
  std::string dir_;
  bool sharded_ = false;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, std::pair<size_t, size_t>, std::less<>> index_;  // -> (shard, tensor)
};

inline Result<HfCheckpoint> open_hf_checkpoint(const std::string& dir) {
  return HfCheckpoint::open(dir);
}

}  // namespace quarry::formats
