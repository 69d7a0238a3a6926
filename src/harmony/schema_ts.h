// JSON schema -> the TypeScript-like type text that harmony prompts use to
// declare tool arguments, reproducing openai/harmony v0.0.8 byte for byte
// (including its odd layout of nested objects and `oneOf`).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace quarry::harmony {

// Renders `schema` with `indent` prefixed to the lines it starts (top level:
// ""). Properties appear in the schema's key order. Unknown or malformed
// parts render as `any`; never throws.
std::string json_schema_to_typescript(const nlohmann::ordered_json& schema,
                                      std::string_view indent = "");

// A JSON value as serde_json prints it (compact; used for `default: ...`).
std::string json_compact(const nlohmann::ordered_json& value);

}  // namespace quarry::harmony
