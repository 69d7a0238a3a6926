// Bedrock Runtime (shared/spec/apis.md §6): Converse, ConverseStream,
// InvokeModel and InvokeModelWithResponseStream over the serving engine.
// Authentication happens before these run (Service::handle).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/service.h"

namespace quarry::api {

// `label`: the {modelId} path segment as received (percent-encoded);
// `op`: "converse", "converse-stream", "invoke", "invoke-with-response-stream".
void handle_bedrock(Service& svc, const http::Request& r, std::string_view label,
                    std::string_view op, const std::string& request_id,
                    std::shared_ptr<http::Responder> out);

std::string base64_encode(std::string_view bytes);

}  // namespace quarry::api
