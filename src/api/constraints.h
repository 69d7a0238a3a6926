// Constrained decoding for a chat request (shared/spec/apis.md §2.4.2):
// tool_choice "required" or a named function forces a call of an allowed
// function whose arguments validate against its parameters; strict tools
// (with tool_choice "auto") constrain the arguments of any call the model
// makes; response_format json_schema / json_object constrains the final
// answer. The analysis channel stays free.
#pragma once

#include <optional>

#include "api/errors.h"
#include "api/generation.h"
#include "harmony/chat_request.h"

namespace quarry::api {

// Sets spec.make_processor when the request needs constraining; an error
// names the schema that cannot be compiled.
std::optional<ApiError> add_constraint(const harmony::ChatRequest& req, GenerationSpec& spec);

}  // namespace quarry::api
