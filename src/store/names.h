// SageMaker resource names and ARNs (spec apis.md §8.1).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace quarry::store {

// The ARN kinds of the SageMaker control plane.
enum class ArnKind { kModel, kEndpointConfig, kEndpoint };

// "model", "endpoint-config", "endpoint".
std::string_view to_string(ArnKind kind);

// arn:aws:sagemaker:<region>:<account>:<kind>/<name in lower case>
std::string sagemaker_arn(std::string_view region, std::string_view account, ArnKind kind,
                          std::string_view name);

// nullopt when `name` is a valid SageMaker name: it matches
// ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ and is at most 63 characters long.
// Otherwise AWS's ValidationException message, naming `field` (the member in
// camelCase, e.g. "endpointName"):
//   1 validation error detected: Value 'bad_name!' at 'endpointName' failed to
//   satisfy constraint: Member must satisfy regular expression pattern:
//   ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
// (one line; two errors, "2 validation errors detected: A; B", when the name
// is also too long).
std::optional<std::string> validate_name(std::string_view name, std::string_view field);

// The pattern as AWS prints it in messages (without the trailing '$').
inline constexpr std::string_view kNamePattern = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}";

}  // namespace quarry::store
