// JSON helpers shared by the safetensors header and index readers (internal).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "base/result.h"

namespace quarry::formats {

// Parses `text` into `out`. `what` names the text in messages ("header"), and
// `base` is the text's byte offset in `file`. Rejects nesting deeper than
// `max_depth` before parsing, so a hostile file cannot exhaust the stack.
Status parse_json_checked(std::string_view text, const std::string& file, const char* what,
                          uint64_t base, int max_depth, nlohmann::json& out);

// Byte offset (base + position) where the object key `key` first appears in
// `text`; `base` when it cannot be found (e.g. it was written with escapes).
uint64_t json_key_offset(std::string_view text, const std::string& key, uint64_t base);

}  // namespace quarry::formats
