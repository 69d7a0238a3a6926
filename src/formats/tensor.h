// A tensor as a file stores it: dtype, shape and a pointer into the mapped
// file. The formats module knows bytes and shapes, not models.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quarry::formats {

enum class DType {
  kF32,
  kF16,
  kBF16,
  kU8,
  kI8,
  kI32,
  kI64,
  kMXFP4,  // GGUF's block_mxfp4: 32 values in 17 bytes {e8m0 scale; 16 bytes of nibbles}
  kF64,
  kI16,
  kQ8_0,  // GGUF's block_q8_0: 32 values in 34 bytes {f16 scale; 32 x int8}
};

std::string_view dtype_name(DType t);  // "F32", "BF16", "U8", "MXFP4", ...

// Storage granule of a dtype: `block_elems` values take `block_bytes` bytes
// (1 and the element size for plain types; 32 and 17 for MXFP4).
struct DTypeBlock {
  uint32_t block_elems = 1;
  uint32_t block_bytes = 1;
};
DTypeBlock dtype_block(DType t);

// Bytes taken by `numel` values; nullopt when numel is not a whole number of
// blocks or the product overflows 64 bits.
std::optional<uint64_t> dtype_nbytes(DType t, uint64_t numel);

// Product of the dims; nullopt on 64-bit overflow.
std::optional<uint64_t> checked_numel(const std::vector<uint64_t>& shape);

// "[2, 3, 4]", for messages.
std::string shape_string(const std::vector<uint64_t>& shape);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  // Row-major, outermost dimension first (safetensors order). GGUF stores
  // dims fastest-first; its reader reverses them into this order.
  std::vector<uint64_t> shape;
  const uint8_t* data = nullptr;  // into the mapped file, valid while the source lives
  uint64_t nbytes = 0;
  std::string file;          // for error messages
  uint64_t file_offset = 0;  // absolute byte offset of `data` in `file`

  uint64_t numel() const {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    return n;
  }
};

// A set of named tensors: one safetensors file, a sharded HF checkpoint or a
// GGUF file. The model binds its weights through this interface.
class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // nullptr when absent.
  virtual const TensorInfo* find(std::string_view name) const = 0;
  virtual std::vector<std::string> names() const = 0;
  // Where the tensors come from (a path), for messages.
  virtual const std::string& origin() const = 0;
};

}  // namespace quarry::formats
