#include "api/errors.h"

#include <nlohmann/json.hpp>

namespace quarry::api {

ApiError invalid(std::string message, std::optional<std::string> param, std::string code) {
  ApiError e;
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

ApiError model_not_found(std::string_view model) {
  ApiError e;
  e.status = 404;
  e.code = "model_not_found";
  e.param = "model";
  e.message =
      "The model `" + std::string(model) + "` does not exist or you do not have access to it.";
  return e;
}

ApiError server_error(std::string message) {
  ApiError e;
  e.status = 500;
  e.type = "server_error";
  e.message = std::move(message);
  return e;
}

std::string error_body(const ApiError& e) {
  nlohmann::ordered_json err;
  err["message"] = e.message;
  err["type"] = e.type;
  err["param"] = e.param ? nlohmann::ordered_json(*e.param) : nlohmann::ordered_json(nullptr);
  err["code"] = e.code ? nlohmann::ordered_json(*e.code) : nlohmann::ordered_json(nullptr);
  nlohmann::ordered_json body;
  body["error"] = std::move(err);
  // Messages may quote client bytes that are not valid UTF-8.
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::vector<http::Header> error_headers(const ApiError& e) {
  std::vector<http::Header> h = {{"Content-Type", "application/json"}};
  // The openai SDK retries 408/409/429/5xx; only overload is worth retrying.
  const bool retry = e.status == 429 || e.status == 503;
  h.push_back({"x-should-retry", retry ? "true" : "false"});
  if (e.retry_after_s > 0) h.push_back({"Retry-After", std::to_string(e.retry_after_s)});
  return h;
}

ApiError invalid_from_path_message(const std::string& message) {
  const size_t colon = message.find(": ");
  if (colon == std::string::npos || colon == 0 || message.compare(0, colon, "request") == 0) {
    return invalid(message);
  }
  const std::string path = message.substr(0, colon);
  // A path is identifier characters, dots and [indices]; anything else is prose.
  for (char c : path) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '[' || c == ']';
    if (!ok) return invalid(message);
  }
  return invalid(message, path);
}

}  // namespace quarry::api
