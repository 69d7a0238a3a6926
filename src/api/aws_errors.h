// Errors of the AWS-family routes (shared/spec/apis.md §3.2): the bare code
// in `x-amzn-ErrorType` and in the body, `message` in the body, and for the
// JSON 1.1 control plane also `__type`. Every AWS response carries an
// `x-amzn-RequestId`.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/server.h"

namespace quarry::api {

struct AwsError {
  int status = 400;
  std::string code = "ValidationException";
  std::string message;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // modelled members
};

inline AwsError aws_validation(std::string message) {
  return AwsError{400, "ValidationException", std::move(message)};
}

// A fresh request id (a random UUID v4).
std::string aws_request_id();

// restJson1 (Bedrock, SageMaker Runtime) or awsJson1_1 (`json11`: the control plane).
void respond_aws_error(http::Responder& out, const AwsError& e, const std::string& request_id,
                       bool json11 = false);

}  // namespace quarry::api
