#include "formats/tensor.h"

namespace quarry::formats {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
    case DType::kU8:
      return "U8";
    case DType::kI8:
      return "I8";
    case DType::kI32:
      return "I32";
    case DType::kI64:
      return "I64";
    case DType::kMXFP4:
      return "MXFP4";
    case DType::kF64:
      return "F64";
    case DType::kI16:
      return "I16";
    case DType::kQ8_0:
      return "Q8_0";
  }
  return "?";
}

DTypeBlock dtype_block(DType t) {
  switch (t) {
    case DType::kU8:
    case DType::kI8:
      return {1, 1};
    case DType::kF16:
    case DType::kBF16:
    case DType::kI16:
      return {1, 2};
    case DType::kF32:
    case DType::kI32:
      return {1, 4};
    case DType::kF64:
    case DType::kI64:
      return {1, 8};
    case DType::kMXFP4:
      return {32, 17};
    case DType::kQ8_0:
      return {32, 34};
  }
  return {1, 1};
}

std::optional<uint64_t> dtype_nbytes(DType t, uint64_t numel) {
  const DTypeBlock b = dtype_block(t);
  if (numel % b.block_elems != 0) return std::nullopt;
  uint64_t out = 0;
  if (__builtin_mul_overflow(numel / b.block_elems, uint64_t{b.block_bytes}, &out)) {
    return std::nullopt;
  }
  return out;
}

std::optional<uint64_t> checked_numel(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) {
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  return n;
}

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

}  // namespace quarry::formats
