// GGUF (versions 2 and 3): magic "GGUF", u32 version, u64 tensor count, u64 KV
// count, typed key/values, tensor infos (name, dims fastest-first, ggml type,
// offset), then the data section aligned to general.alignment (default 32).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"
#include "base/result.h"
#include "formats/gguf_value.h"
#include "formats/tensor.h"

namespace quarry::formats {

inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr std::string_view kGgufAlignmentKey = "general.alignment";

struct GgufKv {
  std::string key;
  GgufValue value;
  uint64_t offset = 0;  // byte offset of the key in the file, for messages
};

// One validated GGUF file. Every count, length, size and offset was checked
// against the file size (overflow-safe) before use; tensors lie inside the
// data section, aligned and without overlap. Errors name the file, the key or
// tensor, and the byte offset.
class GgufFile final : public TensorSource {
 public:
  static Result<GgufFile> open(const std::string& path);
  // Validates bytes the caller owns (they must outlive the result); `name`
  // stands for the file in messages. Used by tests and the fuzzer.
  static Result<GgufFile> parse(std::span<const uint8_t> bytes, const std::string& name);

  const TensorInfo* find(std::string_view name) const override;
  std::vector<std::string> names() const override;  // in tensor-info order
  const std::string& origin() const override { return origin_; }

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_start() const { return data_start_; }
  const std::vector<GgufKv>& kvs() const { return kvs_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // tensor-info order
  const MappedFile& mapping() const { return map_; }

  // Metadata. nullptr / false when the key is absent.
  const GgufValue* value(std::string_view key) const;
  bool has(std::string_view key) const { return value(key) != nullptr; }
  // Typed getters: an error names the file, the key and its offset when the key
  // is missing or holds another type. Integer getters accept any integer type
  // whose value fits; float getters accept f32 and f64.
  Result<uint32_t> get_u32(std::string_view key) const;
  Result<uint64_t> get_u64(std::string_view key) const;
  Result<int64_t> get_i64(std::string_view key) const;
  Result<float> get_f32(std::string_view key) const;
  Result<bool> get_bool(std::string_view key) const;
  Result<std::string_view> get_string(std::string_view key) const;
  Result<std::span<const std::string>> get_string_array(std::string_view key) const;
  Result<std::vector<int64_t>> get_int_array(std::string_view key) const;
  Result<std::vector<float>> get_f32_array(std::string_view key) const;

 private:
  class Parser;
  const GgufKv* kv(std::string_view key) const;
  Error key_error(std::string_view key, std::string_view wanted) const;

  MappedFile map_;
  std::string origin_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_start_ = 0;
  std::vector<GgufKv> kvs_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

inline Result<GgufFile> open_gguf(const std::string& path) { return GgufFile::open(path); }

}  // namespace quarry::formats
