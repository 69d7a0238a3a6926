// Small string helpers shared by the modules.
#pragma once

#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace quarry {

// parts[0] + sep + parts[1] + ... ("" for no parts).
inline std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

// The double nearest the shortest decimal that reads back as f, so JSON
// carries 1e-05 rather than double(f)'s 9.999999747378752e-06.
inline double shortest_decimal(float f) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  *r.ptr = '\0';
  return std::strtod(buf, nullptr);
}

}  // namespace quarry
