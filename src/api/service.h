// The OpenAI-compatible API over one serving engine (shared/spec/apis.md §1-2):
// routing, bearer keys, errors, /v1/models, /health, /metrics, and the
// generation endpoints (chat completions, completions, responses). The
// Service is the http::Handler; generation runs on the engine thread and
// streams back through the Responder.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/aws_errors.h"
#include "api/endpoints.h"
#include "api/errors.h"
#include "api/memory_budget.h"
#include "api/metrics.h"
#include "api/model_names.h"
#include "api/served_model.h"
#include "aws/sigv4.h"
#include "engine/engine.h"
#include "http/server.h"
#include "tokenizer/tokenizer.h"

namespace quarry::api {

struct ServiceOptions {
  std::vector<std::string> served_names = {"gpt-oss"};
  std::vector<std::string> api_keys;  // none: the OpenAI routes are open
  // Shown in /v1/models (as "quarry_notice") and logs, e.g. that the default
  // model has random weights.
  std::string model_notice;
  int64_t created = 1754352000;  // /v1/models "created"
  // AWS access keys for SigV4 (Bedrock, SageMaker, /openai/v1). Without a
  // lookup and without api_keys the AWS routes are open, as the OpenAI ones.
  aws::CredentialLookup aws_credentials;
  // The control-plane store: SageMaker models, configs and endpoints. Null:
  // the SageMaker control plane answers UnknownOperationException.
  store::Store* store = nullptr;
  // Loads a model from a path for a SageMaker endpoint; null: only models
  // this server already serves can back an endpoint.
  Endpoints::Loader loader;
  // The memory budget the loader reserves from (shown in /metrics); null:
  // none. Must outlive the Service.
  const MemoryBudget* memory_budget = nullptr;
};

class Service {
 public:
  // `primary`: the model served under options.served_names.
  Service(std::shared_ptr<ServedModel> primary, ServiceOptions options);

  void handle(http::Request&& request, std::shared_ptr<http::Responder> out);
  // The server's own errors (400/408/413/431) in the OpenAI shape.
  static http::ErrorReply format_error(int status, std::string_view message,
                                       std::string_view target);

  // For the endpoint implementations.
  // The model a client's name refers to: a served name or alias (§1.4), or
  // a SageMaker endpoint that is InService; null when none.
  std::shared_ptr<ServedModel> find_model(std::string_view name) const;
  const std::shared_ptr<ServedModel>& primary() const { return primary_; }
  const ModelNames& names() const { return names_; }
  Endpoints* endpoints() { return endpoints_.get(); }
  Metrics& metrics() { return metrics_; }
  void respond_error(http::Responder& out, const ApiError& e);
  void respond_json(http::Responder& out, int status, const nlohmann::ordered_json& body);
  // Who the request being handled on this thread authenticated as: an API
  // key id ("key:<id>"), an access key id, or "anonymous". Set by handle()
  // around the synchronous part of a handler; start_generation() reads it
  // so the usage of that generation is charged to it.
  static const std::string& current_principal();
  // Adds a finished generation's tokens to the principal's usage (store).
  void record_usage(const std::string& principal, const std::string& model, size_t input,
                    size_t output, size_t reasoning);

  // "chatcmpl-" + 24 random characters, and the like.
  static std::string new_id(std::string_view prefix);

 private:
  bool authorized(const http::Request& r) const;
  // The principal a bearer key belongs to; nullopt when it is not a key.
  std::optional<std::string> bearer_principal(std::string_view token) const;
  bool bearer_ok(std::string_view token) const { return bearer_principal(token).has_value(); }
  // Bearer keys are configured (options or the store): the routes are closed.
  bool keys_required() const;
  // SigV4 or (where `bearer_allowed`) a Bedrock API key; nullopt = allowed.
  std::optional<AwsError> aws_auth(const http::Request& r, std::string_view service,
                                   bool bearer_allowed) const;
  void route_aws(http::Request&& r, std::shared_ptr<http::Responder> out);
  static std::string sigv4_principal(const http::Request& r);
  std::string aws_principal(const http::Request& r) const;
  void route_v1(std::string_view path, http::Request&& r, std::shared_ptr<http::Responder> out);
  void list_models(http::Responder& out);
  void get_model(std::string_view name, http::Responder& out);

  std::shared_ptr<ServedModel> primary_;
  ServiceOptions options_;
  ModelNames names_;
  Metrics metrics_;
  bool store_has_api_keys_ = false;       // read at start
  std::unique_ptr<Endpoints> endpoints_;  // declared last: its threads use the rest
};

// The generation endpoints (one file each). `body` is a parsed JSON object;
// `model` the name the client sent, already resolved to a served model.
void handle_chat_completions(Service& svc, const nlohmann::ordered_json& body,
                             const std::string& model, std::shared_ptr<ServedModel> served,
                             std::shared_ptr<http::Responder> out);
void handle_completions(Service& svc, const nlohmann::ordered_json& body, const std::string& model,
                        std::shared_ptr<ServedModel> served, std::shared_ptr<http::Responder> out);
void handle_responses(Service& svc, const nlohmann::ordered_json& body, const std::string& model,
                      std::shared_ptr<ServedModel> served, std::shared_ptr<http::Responder> out);

}  // namespace quarry::api
