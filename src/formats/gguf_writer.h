// Writes GGUF v3 files in the layout llama.cpp's gguf.cpp writes and accepts:
// header, key/values in insertion order, tensor infos (dims fastest-first,
// offsets relative to the data section, each a multiple of the alignment),
// zero padding to the alignment, then each tensor's bytes padded likewise.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "formats/gguf_value.h"
#include "formats/tensor_spec.h"

namespace quarry::formats {

class ByteSink;

class GgufWriter {
 public:
  // Metadata. Setting a key again replaces its value (keeping its position).
  // Bad keys (empty, or a general.alignment that is not a power-of-two u32)
  // are reported by write()/serialize(). Arrays of arrays are valid GGUF but
  // llama.cpp's reader rejects them: keep them out of files meant for it.
  void set(std::string key, GgufValue value);
  void set_u8(std::string key, uint8_t v) { set(std::move(key), GgufValue::scalar(v)); }
  void set_i8(std::string key, int8_t v) { set(std::move(key), GgufValue::scalar(v)); }
  void set_u16(std::string key, uint16_t v) { set(std::move(key), GgufValue::scalar(v)); }
  void set_i16(std::string key, int16_t v) { set(std::move(key), GgufValue::scalar(v)); }
  void set_u32(std::string key, uint32_t v) { set(std::move(key), GgufValue::scalar(v)); }
  void set_i32(std::string key, int32_t v) { set(std::move(key), GgufValue::scalar(v)); }
  void set_u64(std::string key, uint64_t v) { set(std::move(key), GgufValue::scalar(v)); }
  void set_i64(std::string key, int64_t v) { set(std::move(key), GgufValue::scalar(v)); }
  void set_f32(std::string key, float v) { set(std::move(key), GgufValue::scalar(v)); }
  void set_f64(std::string key, double v) { set(std::move(key), GgufValue::scalar(v)); }
  void set_bool(std::string key, bool v) { set(std::move(key), GgufValue::boolean(v)); }
  void set_string(std::string key, std::string v) {
    set(std::move(key), GgufValue::string(std::move(v)));
  }
  void set_string_array(std::string key, std::vector<std::string> v) {
    set(std::move(key), GgufValue::string_array(std::move(v)));
  }
  template <class T>
  void set_array(std::string key, std::span<const T> v) {
    set(std::move(key), GgufValue::array(v));
  }
  // general.alignment (default 32).
  void set_alignment(uint32_t alignment) { set_u32("general.alignment", alignment); }

  // Tensors, written in insertion order. `spec.shape` is row-major (outermost
  // first); the file gets it reversed. Names must be shorter than 64 bytes
  // (llama.cpp's GGML_MAX_NAME), the dtype must exist in ggml (not U8), and the
  // innermost dimension must be a whole number of blocks (32 for MXFP4, Q8_0).
  Status add_tensor(TensorSpec spec, std::span<const uint8_t> bytes);  // copies the bytes
  Status add_tensor(TensorSpec spec, TensorFiller fill);
  void set_progress(WriteProgress progress) { progress_ = std::move(progress); }

  size_t tensor_count() const { return tensors_.size(); }
  uint64_t data_bytes() const;  // tensor bytes without padding

  Status write(const std::string& path) const;  // to path.tmp, then renamed
  Result<std::vector<uint8_t>> serialize() const;

 private:
  struct Tensor {
    TensorSpec spec;
    uint32_t ggml_type = 0;
    uint64_t nbytes = 0;
    std::vector<uint8_t> bytes;
    TensorFiller fill;
  };
  Status check(const TensorSpec& spec, uint32_t* ggml_type, uint64_t* nbytes) const;
  Result<uint64_t> alignment() const;
  Status write_to(ByteSink& sink) const;

  std::vector<std::pair<std::string, GgufValue>> kvs_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<Tensor> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
  WriteProgress progress_;
};

}  // namespace quarry::formats
