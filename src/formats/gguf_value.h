// GGUF metadata values: the 13 GGUF value types, scalars and arrays (of
// numbers, strings or, as the format allows, of arrays).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace quarry::formats {

enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
inline constexpr uint32_t kGgufTypeCount = 13;

std::string_view gguf_type_name(GgufType t);  // "u8", ..., "str", "arr", ...
// Encoded size of a fixed-size type (0 for string and array).
uint32_t gguf_type_size(GgufType t);
bool gguf_type_is_integer(GgufType t);

template <class T>
constexpr GgufType gguf_type_of() {
  if constexpr (std::is_same_v<T, uint8_t>) return GgufType::kU8;
  if constexpr (std::is_same_v<T, int8_t>) return GgufType::kI8;
  if constexpr (std::is_same_v<T, uint16_t>) return GgufType::kU16;
  if constexpr (std::is_same_v<T, int16_t>) return GgufType::kI16;
  if constexpr (std::is_same_v<T, uint32_t>) return GgufType::kU32;
  if constexpr (std::is_same_v<T, int32_t>) return GgufType::kI32;
  if constexpr (std::is_same_v<T, float>) return GgufType::kF32;
  if constexpr (std::is_same_v<T, uint64_t>) return GgufType::kU64;
  if constexpr (std::is_same_v<T, int64_t>) return GgufType::kI64;
  if constexpr (std::is_same_v<T, double>) return GgufType::kF64;
}

class GgufValue {
 public:
  GgufValue() = default;

  // Scalars. T is one of the fixed-size numeric types above.
  template <class T>
  static GgufValue scalar(T v) {
    GgufValue out(gguf_type_of<T>());
    out.raw_.resize(sizeof(T));
    std::memcpy(out.raw_.data(), &v, sizeof(T));
    return out;
  }
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  // Arrays.
  template <class T>
  static GgufValue array(std::span<const T> items) {
    GgufValue out(GgufType::kArray);
    out.elem_ = gguf_type_of<T>();
    out.count_ = items.size();
    out.raw_.resize(items.size_bytes());
    if (!items.empty()) std::memcpy(out.raw_.data(), items.data(), items.size_bytes());
    return out;
  }
  static GgufValue bool_array(const std::vector<bool>& items);
  static GgufValue string_array(std::vector<std::string> items);
  static GgufValue array_of_arrays(std::vector<GgufValue> items);  // each item an array
  // Any fixed-size type from its little-endian encoding (size must match);
  // for readers.
  static GgufValue from_raw(GgufType t, const uint8_t* p);
  static GgufValue raw_array(GgufType elem, uint64_t count, std::vector<uint8_t> raw);

  GgufType type() const { return type_; }       // kArray for arrays
  GgufType elem_type() const { return elem_; }  // arrays only
  bool is_array() const { return type_ == GgufType::kArray; }
  uint64_t size() const { return count_; }  // elements of an array; 1 for a scalar
  std::string_view type_string() const;     // "u32", "arr[str]", ...

  // Scalar access with range-checked conversion between integer types;
  // nullopt for another type or a value out of range.
  std::optional<uint64_t> as_u64() const;
  std::optional<int64_t> as_i64() const;
  std::optional<double> as_f64() const;  // f32 and f64 only
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;

  // Array access (nullopt / empty for another element type).
  std::optional<std::vector<int64_t>> int_array() const;   // any integer element type that fits
  std::optional<std::vector<double>> float_array() const;  // f32 / f64 elements
  std::span<const std::string> strings() const { return strings_; }
  std::span<const GgufValue> arrays() const { return arrays_; }
  // Raw little-endian bytes of a fixed-size scalar or array.
  std::span<const uint8_t> raw() const { return raw_; }

  // Short human-readable rendering (arrays abbreviated after `max_items`).
  std::string to_string(size_t max_items = 8) const;

  bool operator==(const GgufValue& o) const = default;

 private:
  explicit GgufValue(GgufType t) : type_(t) {}

  GgufType type_ = GgufType::kU8;
  GgufType elem_ = GgufType::kU8;
  uint64_t count_ = 1;
  std::vector<uint8_t> raw_;          // fixed-size scalars and arrays
  std::vector<std::string> strings_;  // a string (one item) or a string array
  std::vector<GgufValue> arrays_;     // an array of arrays
};

}  // namespace quarry::formats
