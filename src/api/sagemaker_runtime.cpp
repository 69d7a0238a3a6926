// SageMaker Runtime (shared/spec/apis.md §7): InvokeEndpoint and
// InvokeEndpointWithResponseStream on an InService endpoint. An OpenAI chat
// body answers as /v1/chat/completions does (streamed: the SSE bytes inside
// PayloadPart events); a TGI body {"inputs", "parameters"} answers
// [{"generated_text"}] (raw continuation).
#include <ctime>

#include "api/chat_completions.h"
#include "api/sagemaker.h"
#include "aws/event_stream.h"

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// How SageMaker reports an error of the model container (§7.1).
AwsError model_error(int original_status, const std::string& message) {
  AwsError e{424, "ModelError",
             "Received client error (" + std::to_string(original_status) +
                 ") from primary with message \"" + message + "\". See the server log."};
  e.extra["OriginalStatusCode"] = original_status;
  e.extra["OriginalMessage"] = message;
  e.extra["LogStreamArn"] = "arn:aws:logs:local:000000000000:log-group:/quarry/serve";
  return e;
}

// TGI's [{"generated_text": ...}] for a raw continuation.
class TgiSink : public GenerationSink {
 public:
  TgiSink(std::shared_ptr<http::Responder> out, std::vector<http::Header> headers)
      : out_(std::move(out)), headers_(std::move(headers)) {}
  void on_deltas(size_t, std::vector<ChoiceDelta>&) override {}
  void on_choice_done(size_t, const ChoiceResult&) override {}
  void on_all_done(const std::vector<ChoiceResult>& results, const Usage&) override {
    const ChoiceResult& r = results.front();
    if (r.finish == Finish::kError) {
      return respond_aws_error(*out_, model_error(500, r.error), request_id());
    }
    std::vector<http::Header> h = headers_;
    h.push_back({"Content-Type", "application/json"});
    out_->respond(200, std::move(h),
                  dump(Json::array({Json{{"generated_text", r.decoder->content()}}})));
  }

 private:
  std::string request_id() const {
    for (const http::Header& h : headers_) {
      if (h.name == "x-amzn-RequestId") return h.value;
    }
    return "";
  }
  std::shared_ptr<http::Responder> out_;
  std::vector<http::Header> headers_;
};

std::optional<AwsError> start_tgi(Service& svc, std::shared_ptr<ServedModel> served,
                                  const Json& body, std::vector<http::Header> headers,
                                  std::shared_ptr<http::Responder> out) {
  if (!body["inputs"].is_string()) return model_error(400, "inputs: expected a string");
  Json p = body.value("parameters", Json::object());
  if (!p.is_object()) return model_error(400, "parameters: expected an object");
  // TGI's names as the OpenAI ones the shared parser reads.
  Json mapped = Json::object();
  if (p.contains("max_new_tokens")) mapped["max_tokens"] = p["max_new_tokens"];
  for (const char* k : {"temperature", "top_p", "top_k", "seed", "stop", "repetition_penalty"}) {
    if (p.contains(k)) mapped[k] = p[k];
  }
  if (p.contains("do_sample") && p["do_sample"].is_boolean() && !p["do_sample"].get<bool>()) {
    mapped["temperature"] = 0;
  }
  GenerationSpec spec;
  spec.model = served;
  spec.raw = true;
  if (auto err = parse_generation_params(mapped, Endpoint::kCompletions, served->engine->n_vocab(),
                                         spec.params)) {
    return model_error(400, err->message);
  }
  if (!p.contains("max_new_tokens")) spec.params.max_tokens = 20;  // TGI's default
  for (tokenizer::TokenId id :
       served->tokenizer->encode(body["inputs"].get<std::string>(), tokenizer::Specials::kAll)) {
    spec.prompt.push_back(static_cast<int32_t>(id));
  }
  auto sink = std::make_shared<TgiSink>(out, std::move(headers));
  if (auto err = start_generation(svc, std::move(spec), sink, *out)) {
    return model_error(err->status, err->message);
  }
  return std::nullopt;
}

}  // namespace

void handle_sagemaker_invoke(Service& svc, const http::Request& r, const std::string& endpoint,
                             bool stream, const std::string& request_id,
                             std::shared_ptr<http::Responder> out) {
  auto fail = [&](const AwsError& e) {
    ++svc.metrics().request_errors;
    respond_aws_error(*out, e, request_id);
  };
  Endpoints* eps = svc.endpoints();
  auto ep = eps != nullptr ? eps->store().get_endpoint(endpoint)
                           : store::StoreResult<store::Endpoint>(
                                 store::store_error(store::StoreErrc::kNotFound, ""));
  if (!ep.ok()) {
    const std::string account = eps != nullptr ? eps->store().account() : "000000000000";
    return fail(AwsError{400, "ValidationError",
                         "Endpoint " + endpoint + " of account " + account + " not found."});
  }
  // While an update loads the new model, the old one keeps serving.
  std::shared_ptr<ServedModel> served = eps->model(endpoint);
  const bool serving = ep->status == store::EndpointStatus::kInService ||
                       ep->status == store::EndpointStatus::kUpdating;
  if (!serving || !served) {
    return fail(AwsError{400, "ValidationError",
                         "Endpoint " + endpoint + " is not in service (status " +
                             std::string(store::to_string(ep->status)) + ")."});
  }
  const std::string type(r.header("content-type").value_or("application/json"));
  if (!type.starts_with("application/json")) {
    return fail(
        model_error(415, "Content type " + type + " is not supported; send application/json."));
  }
  const Json body = Json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return fail(model_error(400, "The request body is not a valid JSON object."));
  }
  std::vector<http::Header> headers = {{"x-amzn-RequestId", request_id},
                                       {"x-Amzn-Invoked-Production-Variant", "AllTraffic"}};
  if (auto attrs = r.header("x-amzn-sagemaker-custom-attributes")) {
    headers.push_back({"X-Amzn-SageMaker-Custom-Attributes", std::string(*attrs)});
  }
  if (body.contains("inputs")) {
    if (stream) {
      return fail(model_error(400, "Streaming is supported for OpenAI chat bodies (messages)."));
    }
    if (auto e = start_tgi(svc, served, body, std::move(headers), out)) fail(*e);
    return;
  }
  if (!body.contains("messages")) {
    return fail(
        model_error(400, "Expected an OpenAI chat body (messages) or a TGI body (inputs)."));
  }
  Json chat = body;
  chat["stream"] = stream;
  if (!stream) chat.erase("stream_options");
  ChatOutput o;
  o.headers = std::move(headers);
  if (stream) {
    o.content_type = "application/vnd.amazon.eventstream";
    o.headers.push_back({"X-Amzn-SageMaker-Content-Type", "text/event-stream"});
    o.frame = [](const Json& chunk) {
      return aws::event_message("PayloadPart", "data: " + dump(chunk) + "\n\n",
                                "application/octet-stream");
    };
    o.done = aws::event_message("PayloadPart", "data: [DONE]\n\n", "application/octet-stream");
    o.frame_error = [](const std::string& message) {
      return aws::exception_message("ModelStreamError",
                                    dump(Json{{"Message", message}, {"ErrorCode", "ModelError"}}));
    };
  }
  if (auto err = start_chat_completion(svc, chat, served->name, served, out, std::move(o))) {
    fail(model_error(err->status, err->message));
  }
}

}  // namespace quarry::api
