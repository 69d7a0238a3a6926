// Errors of the OpenAI-compatible API (shared/spec/apis.md §2.2): a status,
// OpenAI's `type`, `code` and `param`, and the JSON body they make.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/server.h"

namespace quarry::api {

struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";
  std::optional<std::string> code;
  std::optional<std::string> param;  // JSON-path-like: messages[2].role
  std::string message;
  int retry_after_s = 0;  // > 0: a Retry-After header
};

// 400 invalid_request_error with code and param.
ApiError invalid(std::string message, std::optional<std::string> param = std::nullopt,
                 std::string code = "invalid_value");
ApiError model_not_found(std::string_view model);
// 500 server_error: the engine failed on a request (also sent mid-stream).
ApiError server_error(std::string message);

// {"error": {"message", "type", "param", "code"}}
std::string error_body(const ApiError& e);
// Content-Type, x-should-retry, Retry-After as fit the status.
std::vector<http::Header> error_headers(const ApiError& e);

// A validation message "messages[2].role: unknown role" split into the
// param ("messages[2].role") and the message; the body itself ("request: ...")
// and messages without a path give no param.
ApiError invalid_from_path_message(const std::string& message);

}  // namespace quarry::api
