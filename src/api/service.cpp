#include "api/service.h"

#include <chrono>

#include "api/bedrock.h"
#include "api/sagemaker.h"

#include <algorithm>
#include <random>

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

// %XX decoding for path segments (the SDK encodes ':' and '/' in model ids).
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Equal-time comparison: the time taken does not depend on where keys differ.
bool same_secret(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < n; ++i) {
    const unsigned x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0u;
    const unsigned y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0u;
    diff |= x ^ y;
  }
  return diff == 0;
}

ApiError not_found_url(std::string_view method, std::string_view path) {
  ApiError e;
  e.status = 404;
  e.code = "unknown_url";
  e.message = "Unknown request URL: " + std::string(method) + " " + std::string(path) + ".";
  return e;
}

ApiError method_not_allowed(std::string_view method, std::string_view path) {
  ApiError e;
  e.status = 405;
  e.code = "method_not_allowed";
  e.message = "Method " + std::string(method) + " is not allowed on " + std::string(path) + ".";
  return e;
}

}  // namespace

Service::Service(std::shared_ptr<ServedModel> primary, ServiceOptions options)
    : primary_(std::move(primary)),
      options_(std::move(options)),
      names_(options_.served_names.empty() ? std::vector<std::string>{"gpt-oss"}
                                           : options_.served_names) {
  if (options_.store != nullptr) {
    if (auto keys = options_.store->list_api_keys(); keys.ok()) {
      for (const store::ApiKey& k : *keys) store_has_api_keys_ |= k.active();
    }
    endpoints_ =
        std::make_unique<Endpoints>(*options_.store, options_.loader,
                                    [this](std::string_view name) -> std::shared_ptr<ServedModel> {
                                      return names_.resolve(name) ? primary_ : nullptr;
                                    });
    endpoints_->restore();
  }
}

std::string Service::new_id(std::string_view prefix) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id(prefix);
  for (int i = 0; i < 24; ++i) id.push_back(kChars[rng() % (sizeof kChars - 1)]);
  return id;
}

void Service::respond_json(http::Responder& out, int status, const Json& body) {
  out.respond(status, {{"Content-Type", "application/json"}},
              body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void Service::respond_error(http::Responder& out, const ApiError& e) {
  ++metrics_.request_errors;
  out.respond(e.status, error_headers(e), error_body(e));
}

http::ErrorReply Service::format_error(int status, std::string_view message,
                                       std::string_view /*target*/) {
  ApiError e;
  e.status = status;
  e.message = std::string(message);
  if (status == 413) e.code = "request_too_large";
  if (status >= 500) e.type = "server_error";
  return {error_headers(e), error_body(e)};
}

std::shared_ptr<ServedModel> Service::find_model(std::string_view name) const {
  if (names_.resolve(name)) return primary_;
  // An endpoint's name also names its model (for the OpenAI and Bedrock routes).
  if (endpoints_) return endpoints_->model(name);
  return nullptr;
}

bool Service::bearer_ok(std::string_view token) const {
  bool ok = false;
  for (const std::string& k : options_.api_keys) ok |= same_secret(token, k);
  if (!ok && options_.store != nullptr) ok = options_.store->verify_api_key(token).has_value();
  return ok;
}

bool Service::keys_required() const { return !options_.api_keys.empty() || store_has_api_keys_; }

bool Service::authorized(const http::Request& r) const {
  if (!keys_required()) return true;
  auto auth = r.header("authorization");
  if (!auth) return false;
  std::string_view v = *auth;
  if (v.size() < 7 || (v.substr(0, 7) != "Bearer " && v.substr(0, 7) != "bearer ")) return false;
  return bearer_ok(v.substr(7));
}

std::optional<AwsError> Service::aws_auth(const http::Request& r, std::string_view service,
                                          bool bearer_allowed) const {
  if (!options_.aws_credentials && !keys_required()) return std::nullopt;  // open
  std::vector<aws::HeaderView> headers;
  headers.reserve(r.headers.size());
  for (const http::Header& h : r.headers) headers.emplace_back(h.name, h.value);
  const aws::SignedRequest req{r.method, r.target, headers, r.body};
  const aws::CredentialLookup none = [](std::string_view) {
    return std::optional<aws::Credentials>();
  };
  aws::VerifyOptions vo;
  vo.allow_bearer = bearer_allowed;
  aws::AuthResult a =
      aws::verify_sigv4(req, service, std::chrono::system_clock::now(),
                        options_.aws_credentials ? options_.aws_credentials : none, vo);
  if (a.verified()) return std::nullopt;
  if (a.is_bearer()) {
    if (!bearer_allowed) {
      return AwsError{403, "AccessDeniedException",
                      "This operation accepts SigV4 signatures only."};
    }
    if (bearer_ok(a.bearer_token)) return std::nullopt;
    return AwsError{403, "AccessDeniedException", "The API key is not valid."};
  }
  return AwsError{a.error.status, a.error.code, a.error.message};
}

void Service::route_aws(http::Request&& r, std::shared_ptr<http::Responder> out) {
  const std::string request_id = aws_request_id();
  auto fail = [&](const AwsError& e) {
    ++metrics_.request_errors;
    respond_aws_error(*out, e, request_id);
  };
  std::string_view path = r.path();
  if (path.starts_with("/model/")) {
    // /model/{modelId}/{operation}
    std::string_view rest = path.substr(7);
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) {
      return fail(AwsError{404, "UnknownOperationException", "Unknown operation."});
    }
    if (auto e = aws_auth(r, "bedrock", true)) return fail(*e);
    return handle_bedrock(*this, r, rest.substr(0, slash), rest.substr(slash + 1), request_id,
                          std::move(out));
  }
  if (path.starts_with("/endpoints/")) {
    // /endpoints/{EndpointName}/invocations[-response-stream]
    std::string_view rest = path.substr(11);
    const size_t slash = rest.find('/');
    const std::string_view op = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (r.method != "POST" || (op != "invocations" && op != "invocations-response-stream")) {
      return fail(AwsError{404, "UnknownOperationException", "Unknown operation."});
    }
    if (auto e = aws_auth(r, "sagemaker", false)) return fail(*e);
    return handle_sagemaker_invoke(*this, r, aws::percent_decode(rest.substr(0, slash)),
                                   op == "invocations-response-stream", request_id, std::move(out));
  }
  if (path == "/" && r.method == "POST" && r.header("x-amz-target")) {
    if (auto e = aws_auth(r, "sagemaker", false)) {
      ++metrics_.request_errors;
      return respond_aws_error(*out, *e, request_id, /*json11=*/true);
    }
    return handle_sagemaker_control(*this, r, request_id, std::move(out));
  }
  fail(AwsError{404, "UnknownOperationException",
                "Unknown operation: " + r.method + " " + std::string(path) + "."});
}

void Service::handle(http::Request&& r, std::shared_ptr<http::Responder> out) {
  std::string_view path = r.path();
  if (path == "/health" || path == "/ping") {
    if (r.method != "GET" && r.method != "HEAD")
      return respond_error(*out, method_not_allowed(r.method, path));
    return respond_json(*out, 200, Json{{"status", "ok"}});
  }
  if (path == "/metrics") {
    if (r.method != "GET") return respond_error(*out, method_not_allowed(r.method, path));
    out->respond(200, {{"Content-Type", "text/plain; version=0.0.4"}},
                 metrics_.render(primary_->engine->stats()));
    return;
  }
  const bool bedrock_alias = path.starts_with("/openai/v1/") || path == "/openai/v1";
  if (bedrock_alias) path.remove_prefix(7);
  if (path.starts_with("/v1/") || path == "/v1") {
    // Bedrock's OpenAI-compatible path also takes SigV4 (service bedrock).
    const auto auth = r.header("authorization");
    const bool sigv4 = bedrock_alias && auth && auth->starts_with("AWS4-HMAC-SHA256");
    if (sigv4) {
      if (auto e = aws_auth(r, "bedrock", true)) {
        ApiError err;
        err.status = e->status;
        err.type = "invalid_request_error";
        err.code = e->code;
        err.message = e->message;
        return respond_error(*out, err);
      }
    } else if (!authorized(r)) {
      ApiError e;
      e.status = 401;
      e.code = "invalid_api_key";
      e.message = "Incorrect API key provided.";
      return respond_error(*out, e);
    }
    return route_v1(path, std::move(r), std::move(out));
  }
  route_aws(std::move(r), std::move(out));
}

void Service::route_v1(std::string_view path, http::Request&& r,
                       std::shared_ptr<http::Responder> out) {
  if (path == "/v1/models") {
    if (r.method != "GET") return respond_error(*out, method_not_allowed(r.method, path));
    return list_models(*out);
  }
  if (path.starts_with("/v1/models/")) {
    if (r.method != "GET") return respond_error(*out, method_not_allowed(r.method, path));
    return get_model(percent_decode(path.substr(11)), *out);
  }
  using Fn = void (*)(Service&, const Json&, const std::string&, std::shared_ptr<ServedModel>,
                      std::shared_ptr<http::Responder>);
  Fn fn = nullptr;
  if (path == "/v1/chat/completions") fn = handle_chat_completions;
  if (path == "/v1/completions") fn = handle_completions;
  if (path == "/v1/responses") fn = handle_responses;
  if (fn == nullptr) return respond_error(*out, not_found_url(r.method, path));
  if (r.method != "POST") return respond_error(*out, method_not_allowed(r.method, path));

  Json body;
  try {
    body = Json::parse(r.body);
  } catch (const Json::parse_error& e) {
    return respond_error(
        *out, invalid(std::string("Invalid JSON body: ") + e.what(), std::nullopt, "invalid_json"));
  }
  if (!body.is_object()) {
    return respond_error(
        *out, invalid("The request body must be a JSON object.", std::nullopt, "invalid_json"));
  }
  auto model = body.find("model");
  if (model == body.end() || model->is_null()) {
    return respond_error(*out, invalid("model: required", "model", "missing_required_parameter"));
  }
  if (!model->is_string()) return respond_error(*out, invalid("model: expected a string", "model"));
  const std::string name = model->get<std::string>();
  std::shared_ptr<ServedModel> served = find_model(name);
  if (!served) return respond_error(*out, model_not_found(name));
  fn(*this, body, name, std::move(served), std::move(out));
}

void Service::list_models(http::Responder& out) {
  Json data = Json::array();
  for (const std::string& n : names_.served()) {
    Json m;
    m["id"] = n;
    m["object"] = "model";
    m["created"] = options_.created;
    m["owned_by"] = "quarry";
    m["max_model_len"] = primary_->engine->max_positions();
    if (!options_.model_notice.empty()) m["quarry_notice"] = options_.model_notice;
    data.push_back(std::move(m));
  }
  respond_json(out, 200, Json{{"object", "list"}, {"data", std::move(data)}});
}

void Service::get_model(std::string_view name, http::Responder& out) {
  auto served = names_.resolve(name);
  if (!served) return respond_error(out, model_not_found(name));
  Json m;
  m["id"] = *served;
  m["object"] = "model";
  m["created"] = options_.created;
  m["owned_by"] = "quarry";
  m["max_model_len"] = primary_->engine->max_positions();
  if (!options_.model_notice.empty()) m["quarry_notice"] = options_.model_notice;
  respond_json(out, 200, m);
}

}  // namespace quarry::api
