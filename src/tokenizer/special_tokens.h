// The o200k_harmony special tokens (ids 199998 ... 201087).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace quarry::tokenizer {

// Canonical text of special id `id` (e.g. "<|start|>", "<|reserved_200018|>");
// empty if `id` is not a special id.
std::string special_text(uint32_t id);

// Id of a special token's text; accepts "<|endofprompt|>" for 200018.
std::optional<uint32_t> special_from_text(std::string_view text);

}  // namespace quarry::tokenizer
