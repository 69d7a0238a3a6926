// Starting a chat completion, for every route that takes an OpenAI chat body
// (/v1/chat/completions, Bedrock InvokeModel, SageMaker InvokeEndpoint).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "api/chat_sink.h"

namespace quarry::api {

// Parses and validates `body`, renders the harmony prompt and submits it;
// the response goes to `out` as `output` says. On an error nothing was sent.
std::optional<ApiError> start_chat_completion(Service& svc, const nlohmann::ordered_json& body,
                                              const std::string& model,
                                              std::shared_ptr<ServedModel> served,
                                              std::shared_ptr<http::Responder> out,
                                              ChatOutput output = {});

}  // namespace quarry::api
