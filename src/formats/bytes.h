// Little-endian loads/stores and overflow-checked arithmetic for the readers
// and writers of this module (internal; not part of the module's API).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

namespace quarry::formats::bytes {

template <class T>
T load_le(const uint8_t* p) {
  static_assert(std::is_trivially_copyable_v<T>);
  T v;
  std::memcpy(&v, p, sizeof(T));  // the targets we build for are little-endian
  return v;
}

template <class T>
void append_le(std::string& out, T v) {
  static_assert(std::is_trivially_copyable_v<T>);
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

// a + b and a * b into *out; false on 64-bit overflow.
inline bool add(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}
inline bool mul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

// v rounded up to a multiple of `align` (a power of two); false on overflow.
inline bool align_up(uint64_t v, uint64_t align, uint64_t* out) {
  uint64_t t = 0;
  if (!add(v, align - 1, &t)) return false;
  *out = t & ~(align - 1);
  return true;
}

// True when [offset, offset + length) lies inside [0, size).
inline bool in_bounds(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

}  // namespace quarry::formats::bytes
