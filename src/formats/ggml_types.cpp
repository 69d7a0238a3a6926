#include "formats/ggml_types.h"

namespace quarry::formats {
namespace {

struct Entry {
  uint32_t id;
  GgmlTypeInfo info;
};

// Block sizes and bytes per block (ggml.c type_traits / gguf-py GGML_QUANT_SIZES).
constexpr Entry kTypes[] = {
    {0, {"F32", 1, 4}},         {1, {"F16", 1, 2}},         {2, {"Q4_0", 32, 18}},
    {3, {"Q4_1", 32, 20}},      {6, {"Q5_0", 32, 22}},      {7, {"Q5_1", 32, 24}},
    {8, {"Q8_0", 32, 34}},      {9, {"Q8_1", 32, 40}},      {10, {"Q2_K", 256, 84}},
    {11, {"Q3_K", 256, 110}},   {12, {"Q4_K", 256, 144}},   {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}},   {15, {"Q8_K", 256, 292}},   {16, {"IQ2_XXS", 256, 66}},
    {17, {"IQ2_XS", 256, 74}},  {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}},
    {20, {"IQ4_NL", 32, 18}},   {21, {"IQ3_S", 256, 110}},  {22, {"IQ2_S", 256, 82}},
    {23, {"IQ4_XS", 256, 136}}, {24, {"I8", 1, 1}},         {25, {"I16", 1, 2}},
    {26, {"I32", 1, 4}},        {27, {"I64", 1, 8}},        {28, {"F64", 1, 8}},
    {29, {"IQ1_M", 256, 56}},   {30, {"BF16", 1, 2}},       {34, {"TQ1_0", 256, 54}},
    {35, {"TQ2_0", 256, 66}},   {39, {"MXFP4", 32, 17}},
};

struct Mapping {
  uint32_t id;
  DType dtype;
};
constexpr Mapping kMappings[] = {
    {kGgmlF32, DType::kF32},   {kGgmlF16, DType::kF16},     {kGgmlBF16, DType::kBF16},
    {kGgmlQ8_0, DType::kQ8_0}, {kGgmlMXFP4, DType::kMXFP4}, {kGgmlI8, DType::kI8},
    {kGgmlI16, DType::kI16},   {kGgmlI32, DType::kI32},     {kGgmlI64, DType::kI64},
    {kGgmlF64, DType::kF64},
};

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t id) {
  for (const auto& e : kTypes) {
    if (e.id == id) return &e.info;
  }
  return nullptr;
}

std::optional<DType> dtype_from_ggml(uint32_t id) {
  for (const auto& m : kMappings) {
    if (m.id == id) return m.dtype;
  }
  return std::nullopt;
}

std::optional<uint32_t> ggml_from_dtype(DType t) {
  for (const auto& m : kMappings) {
    if (m.dtype == t) return m.id;
  }
  return std::nullopt;
}

}  // namespace quarry::formats
