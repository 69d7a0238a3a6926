#include "formats/tensor_checks.h"

#include <cstring>
#include <string>

#include "formats/mxfp4.h"

namespace quarry::formats {
namespace {

// Index of the first element whose exponent bits are all ones, or n.
template <class U>
uint64_t first_non_finite(const uint8_t* p, uint64_t n, U exponent_mask, uint64_t stride) {
  for (uint64_t i = 0; i < n; ++i) {
    U v;
    std::memcpy(&v, p + i * stride, sizeof(U));
    if ((v & exponent_mask) == exponent_mask) return i;
  }
  return n;
}

Status non_finite(const TensorInfo& t, const char* what, uint64_t index, uint64_t byte) {
  return make_error(t.file + ": tensor '" + t.name + "': " + what + " " + std::to_string(index) +
                    " is not finite (byte offset " + std::to_string(t.file_offset + byte) + ")");
}

}  // namespace

Status check_finite(const TensorInfo& t) {
  uint64_t n = 0, bad = 0;
  switch (t.dtype) {
    case DType::kF32:
      n = t.nbytes / 4;
      bad = first_non_finite<uint32_t>(t.data, n, 0x7F800000u, 4);
      return bad == n ? Status::Ok() : non_finite(t, "element", bad, bad * 4);
    case DType::kF64:
      n = t.nbytes / 8;
      bad = first_non_finite<uint64_t>(t.data, n, 0x7FF0000000000000ull, 8);
      return bad == n ? Status::Ok() : non_finite(t, "element", bad, bad * 8);
    case DType::kBF16:
      n = t.nbytes / 2;
      bad = first_non_finite<uint16_t>(t.data, n, uint16_t{0x7F80}, 2);
      return bad == n ? Status::Ok() : non_finite(t, "element", bad, bad * 2);
    case DType::kF16:
      n = t.nbytes / 2;
      bad = first_non_finite<uint16_t>(t.data, n, uint16_t{0x7C00}, 2);
      return bad == n ? Status::Ok() : non_finite(t, "element", bad, bad * 2);
    case DType::kQ8_0:  // block_q8_0 {f16 d; int8 qs[32]}
      n = t.nbytes / 34;
      bad = first_non_finite<uint16_t>(t.data, n, uint16_t{0x7C00}, 34);
      return bad == n ? Status::Ok() : non_finite(t, "Q8_0 block scale", bad, bad * 34);
    case DType::kMXFP4:
      return mxfp4_check_ggml_scales(t);
    case DType::kU8:
    case DType::kI8:
    case DType::kI16:
    case DType::kI32:
    case DType::kI64:
      return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace quarry::formats
