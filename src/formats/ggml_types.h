// ggml tensor types as GGUF stores them (ids from ggml.h; ids 4, 5, 31..33 and
// 36..38 were removed upstream and are unknown here).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "formats/tensor.h"

namespace quarry::formats {

inline constexpr uint32_t kGgmlF32 = 0;
inline constexpr uint32_t kGgmlF16 = 1;
inline constexpr uint32_t kGgmlQ8_0 = 8;
inline constexpr uint32_t kGgmlI8 = 24;
inline constexpr uint32_t kGgmlI16 = 25;
inline constexpr uint32_t kGgmlI32 = 26;
inline constexpr uint32_t kGgmlI64 = 27;
inline constexpr uint32_t kGgmlF64 = 28;
inline constexpr uint32_t kGgmlBF16 = 30;
inline constexpr uint32_t kGgmlMXFP4 = 39;

struct GgmlTypeInfo {
  std::string_view name;  // "F32", "Q4_K", "MXFP4", ...
  uint32_t block_elems = 1;
  uint32_t block_bytes = 0;
};

// nullptr for an id ggml does not define.
const GgmlTypeInfo* ggml_type_info(uint32_t id);
// The DType quarry uses for a ggml type; nullopt for quantizations quarry does
// not load (Q4_K, IQ2_XS, ...).
std::optional<DType> dtype_from_ggml(uint32_t id);
// The ggml type id for a DType; nullopt for U8 (ggml has no unsigned bytes).
std::optional<uint32_t> ggml_from_dtype(DType t);

}  // namespace quarry::formats
