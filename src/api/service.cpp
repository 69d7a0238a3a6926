#include "api/service.h"

#include <chrono>

#include "api/bedrock.h"
#include "api/sagemaker.h"
#include "aws/crypto.h"

#include <algorithm>
#include <random>

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

// Per-principal usage from the store, as labelled counters.
std::string usage_metrics(store::Store& st) {
  auto rows = st.usage();
  if (!rows.ok()) return {};
  auto label = [](const std::string& v) {
    std::string out;
    for (char c : v) {
      if (c == '"' || c == '\\') out.push_back('\\');
      if (c != '\n') out.push_back(c);
    }
    return out;
  };
  std::string out =
      "# HELP quarry_usage_tokens_total Tokens per principal (API key or access key) and model.\n"
      "# TYPE quarry_usage_tokens_total counter\n";
  std::string requests =
      "# HELP quarry_usage_requests_total Requests per principal and model.\n"
      "# TYPE quarry_usage_requests_total counter\n";
  for (const store::UsageRow& u : *rows) {
    const std::string l =
        "principal=\"" + label(u.principal) + "\",model=\"" + label(u.model) + "\"";
    out += "quarry_usage_tokens_total{" + l + ",kind=\"input\"} " + std::to_string(u.input_tokens) +
           "\n";
    out += "quarry_usage_tokens_total{" + l + ",kind=\"output\"} " +
           std::to_string(u.output_tokens) + "\n";
    out += "quarry_usage_tokens_total{" + l + ",kind=\"reasoning\"} " +
           std::to_string(u.reasoning_tokens) + "\n";
    requests += "quarry_usage_requests_total{" + l + "} " + std::to_string(u.requests) + "\n";
  }
  return out + requests;
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

namespace {
thread_local std::string t_principal = "anonymous";

// Sets the thread's principal for the duration of one handler call.
class PrincipalScope {
 public:
  explicit PrincipalScope(std::string p) { t_principal = std::move(p); }
  ~PrincipalScope() { t_principal = "anonymous"; }
};
}  // namespace

const std::string& Service::current_principal() { return t_principal; }

void Service::record_usage(const std::string& principal, const std::string& model, size_t input,
                           size_t output, size_t reasoning) {
  if (options_.store == nullptr) return;
  (void)options_.store->add_usage(principal, model, static_cast<int64_t>(input),
                                  static_cast<int64_t>(output), static_cast<int64_t>(reasoning));
}

std::optional<std::string> Service::bearer_principal(std::string_view token) const {
  bool ok = false;
  for (const std::string& k : options_.api_keys) ok |= aws::constant_time_equal(token, k);
  // Keys given on the command line are known by their first characters only.
  if (ok) return "key:" + std::string(token.substr(0, std::min<size_t>(8, token.size())));
  if (options_.store != nullptr) {
    if (auto id = options_.store->verify_api_key(token)) return "key:" + *id;
  }
  return std::nullopt;
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

std::string Service::sigv4_principal(const http::Request& r) {
  // The access key id from "AWS4-HMAC-SHA256 Credential=<id>/...", already verified.
  const std::string_view a = r.header("authorization").value_or("");
  const size_t at = a.find("Credential=");
  if (at == std::string_view::npos) return "anonymous";
  const std::string_view rest = a.substr(at + 11);
  return std::string(rest.substr(0, rest.find('/')));
}

std::string Service::aws_principal(const http::Request& r) const {
  const std::string_view a = r.header("authorization").value_or("");
  if (a.starts_with("Bearer ") || a.starts_with("bearer ")) {
    return bearer_principal(a.substr(7)).value_or("anonymous");
  }
  return sigv4_principal(r);
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
    PrincipalScope scope(aws_principal(r));
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
    PrincipalScope scope(aws_principal(r));
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
    std::string text = metrics_.render(primary_->engine->stats());
    if (options_.memory_budget != nullptr) text += render_memory_metrics(*options_.memory_budget);
    if (options_.store != nullptr) text += usage_metrics(*options_.store);
    out->respond(200, {{"Content-Type", "text/plain; version=0.0.4"}}, std::move(text));
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
    std::string principal = "anonymous";
    if (auto a = r.header("authorization"); a && a->size() > 7 && !sigv4) {
      principal = bearer_principal(a->substr(7)).value_or("anonymous");
    } else if (sigv4) {
      principal = sigv4_principal(r);
    }
    PrincipalScope scope(std::move(principal));
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
    return get_model(aws::percent_decode(path.substr(11)), *out);
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
