#include "formats/gguf_value.h"

#include <cstdio>

namespace quarry::formats {
namespace {

struct IntVal {
  bool neg = false;
  uint64_t mag = 0;  // |value|
};

std::optional<IntVal> load_int(GgufType t, const uint8_t* p) {
  auto signed_val = [](int64_t v) {
    return IntVal{v < 0, v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v)};
  };
  switch (t) {
    case GgufType::kU8:
      return IntVal{false, p[0]};
    case GgufType::kI8:
      return signed_val(static_cast<int8_t>(p[0]));
    case GgufType::kU16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return IntVal{false, v};
    }
    case GgufType::kI16: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return signed_val(v);
    }
    case GgufType::kU32: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return IntVal{false, v};
    }
    case GgufType::kI32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return signed_val(v);
    }
    case GgufType::kU64: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return IntVal{false, v};
    }
    case GgufType::kI64: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return signed_val(v);
    }
    default:
      return std::nullopt;
  }
}

std::optional<int64_t> to_i64(IntVal v) {
  if (!v.neg) {
    if (v.mag > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v.mag);
  }
  if (v.mag > uint64_t{1} << 63) return std::nullopt;
  return static_cast<int64_t>(uint64_t{0} - v.mag);  // two's complement
}

std::optional<double> load_float(GgufType t, const uint8_t* p) {
  if (t == GgufType::kF32) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  if (t == GgufType::kF64) {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  return std::nullopt;
}

std::string element_string(GgufType t, const uint8_t* p) {
  if (t == GgufType::kBool) return p[0] != 0 ? "true" : "false";
  if (auto f = load_float(t, p)) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.9g", *f);
    return buf;
  }
  if (auto i = load_int(t, p)) {
    std::string s(i->neg ? "-" : "");
    s += std::to_string(i->mag);
    return s;
  }
  return "?";
}

}  // namespace

std::string_view gguf_type_name(GgufType t) {
  static constexpr std::string_view kNames[kGgufTypeCount] = {
      "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < kGgufTypeCount ? kNames[i] : "?";
}

uint32_t gguf_type_size(GgufType t) {
  switch (t) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kBool:
      return 1;
    case GgufType::kU16:
    case GgufType::kI16:
      return 2;
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kF32:
      return 4;
    case GgufType::kU64:
    case GgufType::kI64:
    case GgufType::kF64:
      return 8;
    case GgufType::kString:
    case GgufType::kArray:
      return 0;
  }
  return 0;
}

bool gguf_type_is_integer(GgufType t) {
  return t == GgufType::kU8 || t == GgufType::kI8 || t == GgufType::kU16 || t == GgufType::kI16 ||
         t == GgufType::kU32 || t == GgufType::kI32 || t == GgufType::kU64 || t == GgufType::kI64;
}

GgufValue GgufValue::boolean(bool v) {
  GgufValue out(GgufType::kBool);
  out.raw_.push_back(v ? 1 : 0);
  return out;
}

GgufValue GgufValue::string(std::string v) {
  GgufValue out(GgufType::kString);
  out.strings_.push_back(std::move(v));
  return out;
}

GgufValue GgufValue::bool_array(const std::vector<bool>& items) {
  GgufValue out(GgufType::kArray);
  out.elem_ = GgufType::kBool;
  out.count_ = items.size();
  for (bool b : items) out.raw_.push_back(b ? 1 : 0);
  return out;
}

GgufValue GgufValue::string_array(std::vector<std::string> items) {
  GgufValue out(GgufType::kArray);
  out.elem_ = GgufType::kString;
  out.count_ = items.size();
  out.strings_ = std::move(items);
  return out;
}

GgufValue GgufValue::array_of_arrays(std::vector<GgufValue> items) {
  GgufValue out(GgufType::kArray);
  out.elem_ = GgufType::kArray;
  out.count_ = items.size();
  out.arrays_ = std::move(items);
  return out;
}

GgufValue GgufValue::from_raw(GgufType t, const uint8_t* p) {
  GgufValue out(t);
  out.raw_.assign(p, p + gguf_type_size(t));
  return out;
}

GgufValue GgufValue::raw_array(GgufType elem, uint64_t count, std::vector<uint8_t> raw) {
  GgufValue out(GgufType::kArray);
  out.elem_ = elem;
  out.count_ = count;
  out.raw_ = std::move(raw);
  return out;
}

std::string_view GgufValue::type_string() const {
  if (!is_array()) return gguf_type_name(type_);
  static constexpr std::string_view kArr[kGgufTypeCount] = {
      "arr[u8]",   "arr[i8]",  "arr[u16]", "arr[i16]", "arr[u32]", "arr[i32]", "arr[f32]",
      "arr[bool]", "arr[str]", "arr[arr]", "arr[u64]", "arr[i64]", "arr[f64]"};
  const auto i = static_cast<uint32_t>(elem_);
  return i < kGgufTypeCount ? kArr[i] : "arr[?]";
}

std::optional<uint64_t> GgufValue::as_u64() const {
  if (is_array() || raw_.size() != gguf_type_size(type_)) return std::nullopt;
  const auto v = load_int(type_, raw_.data());
  if (!v || v->neg) return std::nullopt;
  return v->mag;
}

std::optional<int64_t> GgufValue::as_i64() const {
  if (is_array() || raw_.size() != gguf_type_size(type_)) return std::nullopt;
  const auto v = load_int(type_, raw_.data());
  return v ? to_i64(*v) : std::nullopt;
}

std::optional<double> GgufValue::as_f64() const {
  if (is_array() || raw_.size() != gguf_type_size(type_)) return std::nullopt;
  return load_float(type_, raw_.data());
}

std::optional<bool> GgufValue::as_bool() const {
  if (type_ != GgufType::kBool || raw_.size() != 1) return std::nullopt;
  return raw_[0] != 0;
}

const std::string* GgufValue::as_string() const {
  return type_ == GgufType::kString && strings_.size() == 1 ? &strings_[0] : nullptr;
}

std::optional<std::vector<int64_t>> GgufValue::int_array() const {
  if (!is_array() || !gguf_type_is_integer(elem_)) return std::nullopt;
  const uint32_t es = gguf_type_size(elem_);
  std::vector<int64_t> out;
  out.reserve(count_);
  for (uint64_t i = 0; i < count_; ++i) {
    const auto v = load_int(elem_, raw_.data() + i * es);
    const auto s = v ? to_i64(*v) : std::nullopt;
    if (!s) return std::nullopt;
    out.push_back(*s);
  }
  return out;
}

std::optional<std::vector<double>> GgufValue::float_array() const {
  if (!is_array() || (elem_ != GgufType::kF32 && elem_ != GgufType::kF64)) return std::nullopt;
  const uint32_t es = gguf_type_size(elem_);
  std::vector<double> out;
  out.reserve(count_);
  for (uint64_t i = 0; i < count_; ++i) out.push_back(*load_float(elem_, raw_.data() + i * es));
  return out;
}

std::string GgufValue::to_string(size_t max_items) const {
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') q += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
        q += buf;
      } else {
        q += c;
      }
    }
    return q + "\"";
  };
  if (!is_array()) {
    if (type_ == GgufType::kString) return quote(strings_.empty() ? std::string() : strings_[0]);
    return raw_.size() == gguf_type_size(type_) ? element_string(type_, raw_.data()) : "?";
  }
  std::string s = "[";
  const uint64_t shown = count_ < max_items ? count_ : max_items;
  const uint32_t es = gguf_type_size(elem_);
  for (uint64_t i = 0; i < shown; ++i) {
    if (i > 0) s += ", ";
    if (elem_ == GgufType::kString) {
      s += quote(strings_[i]);
    } else if (elem_ == GgufType::kArray) {
      s += arrays_[i].to_string(max_items);
    } else {
      s += element_string(elem_, raw_.data() + i * es);
    }
  }
  if (shown < count_) s += ", ... (" + std::to_string(count_) + " items)";
  return s + "]";
}

}  // namespace quarry::formats
