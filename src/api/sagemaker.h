// SageMaker: the JSON 1.1 control plane (sagemaker_control.cpp) and the
// runtime InvokeEndpoint[WithResponseStream] (sagemaker_runtime.cpp).
// Authentication happens before these run (Service::route_aws).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/aws_errors.h"
#include "api/endpoints.h"
#include "api/service.h"

namespace quarry::api {

void handle_sagemaker_control(Service& svc, const http::Request& r, const std::string& request_id,
                              std::shared_ptr<http::Responder> out);

// `endpoint`: the {EndpointName} path segment (decoded); `stream`: the
// invocations-response-stream route.
void handle_sagemaker_invoke(Service& svc, const http::Request& r, const std::string& endpoint,
                             bool stream, const std::string& request_id,
                             std::shared_ptr<http::Responder> out);

}  // namespace quarry::api
