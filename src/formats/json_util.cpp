#include "formats/json_util.h"

#include <nlohmann/json.hpp>

namespace quarry::formats {
namespace {

// Offset of the first bracket that opens level max_depth + 1, or npos.
size_t too_deep_at(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Status parse_json_checked(std::string_view text, const std::string& file, const char* what,
                          uint64_t base, int max_depth, nlohmann::json& out) {
  if (const size_t at = too_deep_at(text, max_depth); at != std::string_view::npos) {
    return make_error(file + ": " + what + " JSON nests deeper than " + std::to_string(max_depth) +
                      " levels (byte offset " + std::to_string(base + at) + ")");
  }
  try {
    out = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based; strip the "[json.exception.parse_error.N] " prefix.
    std::string detail = e.what();
    if (const size_t p = detail.find("] "); p != std::string::npos) detail.erase(0, p + 2);
    const uint64_t pos = e.byte > 0 ? e.byte - 1 : 0;
    return make_error(file + ": " + what + " is not valid JSON at byte offset " +
                      std::to_string(base + pos) + ": " + detail);
  } catch (const std::exception& e) {
    return make_error(file + ": " + what + " at byte offset " + std::to_string(base) +
                      " could not be read: " + e.what());
  }
  return Status::Ok();
}

uint64_t json_key_offset(std::string_view text, const std::string& key, uint64_t base) {
  std::string quoted;
  try {
    quoted = nlohmann::json(key).dump();
  } catch (const std::exception&) {
    return base;
  }
  const size_t pos = text.find(quoted);
  return pos == std::string_view::npos ? base : base + pos;
}

}  // namespace quarry::formats
