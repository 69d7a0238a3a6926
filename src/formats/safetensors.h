// safetensors: one file = u64 LE header length n, n bytes of JSON
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the data section (offsets are relative to its first byte).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"
#include "formats/tensor.h"

namespace quarry::formats {

// The dtype for a safetensors dtype string ("BF16", "U8", ...); nullopt for
// strings this module does not support (BOOL, U16..U64, F8_*, unknown names).
std::optional<DType> dtype_from_safetensors(std::string_view name);
// The safetensors string for a dtype; nullopt for GGUF-only types (MXFP4, Q8_0).
std::optional<std::string_view> safetensors_dtype_string(DType t);

// One validated safetensors file. Every tensor's bytes lie inside the file and
// inside the data section, and no two tensors overlap. Errors name the file,
// the tensor and the byte offset (absolute, from the start of the file).
class SafetensorsFile final : public TensorSource {
 public:
  // Maps and validates `path`.
  static Result<SafetensorsFile> open(const std::string& path);
  // Validates bytes the caller owns (they must outlive the result); `name`
  // stands for the file in messages. Used by tests and the fuzzer.
  static Result<SafetensorsFile> parse(std::span<const uint8_t> bytes, const std::string& name);

  const TensorInfo* find(std::string_view name) const override;
  std::vector<std::string> names() const override;  // in data-offset order
  const std::string& origin() const override { return origin_; }

  // The tensors in data-offset order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // "__metadata__" (string values), empty when absent.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  uint64_t header_bytes() const { return header_bytes_; }  // n
  uint64_t data_start() const { return 8 + header_bytes_; }
  uint64_t file_size() const { return file_size_; }
  // The mapping (empty for parse()); for madvise while streaming the data.
  const MappedFile& mapping() const { return map_; }

 private:
  MappedFile map_;
  std::string origin_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
  uint64_t header_bytes_ = 0;
  uint64_t file_size_ = 0;
};

}  // namespace quarry::formats
