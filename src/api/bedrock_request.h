// A Bedrock Converse request body (shared/spec/apis.md §6.2) as the OpenAI
// Chat Completions body gpt-oss's mapping defines: system blocks become
// developer instructions, toolUse/toolResult blocks become tool calls and
// tool messages, reasoningContent the analysis of that turn, inferenceConfig
// the sampling fields, additionalModelRequestFields the rest.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "api/aws_errors.h"

namespace quarry::api {

std::optional<AwsError> converse_to_chat(const nlohmann::ordered_json& body,
                                         nlohmann::ordered_json& chat);

}  // namespace quarry::api
