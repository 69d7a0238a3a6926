#include "api/bedrock.h"

#include <chrono>

#include "api/aws_errors.h"
#include "api/bedrock_request.h"
#include "api/chat_completions.h"
#include "api/constraints.h"
#include "aws/event_stream.h"
#include "aws/sigv4.h"
#include "harmony/chat_request.h"
#include "harmony/renderer.h"

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

int64_t ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// An OpenAI-API error as the Bedrock error of the same meaning.
AwsError to_aws(const ApiError& e) {
  if (e.status == 429) return AwsError{429, "ThrottlingException", e.message};
  if (e.status == 503) return AwsError{503, "ServiceUnavailableException", e.message};
  if (e.status == 404) return AwsError{404, "ResourceNotFoundException", e.message};
  if (e.status >= 500) return AwsError{500, "InternalServerException", e.message};
  return aws_validation(e.message);
}

bool valid_model_id(const std::string& id) {
  if (id.empty() || id.size() > 2048) return false;
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

const char* stop_reason(const ChoiceResult& r, bool malformed_tool) {
  switch (r.finish) {
    case Finish::kToolCalls:
      return malformed_tool ? "malformed_tool_use" : "tool_use";
    case Finish::kLength:
      return r.context_full ? "model_context_window_exceeded" : "max_tokens";
    case Finish::kStop:
    case Finish::kError:
      break;
  }
  return r.decoder != nullptr && r.decoder->stopped_by_string() ? "stop_sequence" : "end_turn";
}

class ConverseSink : public GenerationSink {
 public:
  ConverseSink(std::shared_ptr<http::Responder> out, std::string request_id, bool stream)
      : gate_(std::move(out)),
        request_id_(std::move(request_id)),
        stream_(stream),
        start_(Clock::now()) {}

  void open() {
    gate_.open(
        200,
        {{"Content-Type", "application/vnd.amazon.eventstream"}, {"x-amzn-RequestId", request_id_}},
        aws::event_message("messageStart", R"({"role":"assistant"})"));
  }

  void on_deltas(size_t, std::vector<ChoiceDelta>& deltas) override {
    if (!stream_) return;
    for (ChoiceDelta& d : deltas) {
      switch (d.kind) {
        case ChoiceDelta::Kind::kReasoning:
          switch_block(Block::kReasoning);
          delta(Json{{"reasoningContent", Json{{"text", d.text}}}});
          break;
        case ChoiceDelta::Kind::kContent:
          if (d.text.empty()) break;
          switch_block(Block::kText);
          delta(Json{{"text", d.text}});
          break;
        case ChoiceDelta::Kind::kToolCallStart:
          switch_block(Block::kTool);
          event(
              "contentBlockStart",
              Json{{"contentBlockIndex", index_},
                   {"start", Json{{"toolUse", Json{{"toolUseId", d.tool_id}, {"name", d.text}}}}}});
          break;
        case ChoiceDelta::Kind::kToolCallArguments:
          if (block_ == Block::kTool) delta(Json{{"toolUse", Json{{"input", d.text}}}});
          break;
      }
    }
  }

  void on_choice_done(size_t, const ChoiceResult&) override {}

  void on_all_done(const std::vector<ChoiceResult>& results, const Usage& usage) override {
    const ChoiceResult& r = results.front();
    Json usage_json{{"inputTokens", usage.prompt_tokens},
                    {"outputTokens", usage.completion_tokens},
                    {"totalTokens", usage.prompt_tokens + usage.completion_tokens}};
    if (usage.cached_tokens > 0) usage_json["cacheReadInputTokens"] = usage.cached_tokens;
    // Tool arguments that are not JSON make the turn malformed_tool_use.
    Json content = Json::array();
    bool malformed = false;
    if (r.decoder != nullptr) {
      if (r.decoder->has_reasoning()) {
        content.push_back(Json{
            {"reasoningContent", Json{{"reasoningText", Json{{"text", r.decoder->reasoning()}}}}}});
      }
      if (!r.decoder->content().empty()) content.push_back(Json{{"text", r.decoder->content()}});
      for (const ToolCallOut& c : r.decoder->tool_calls()) {
        Json input = Json::parse(c.arguments, nullptr, false);
        if (input.is_discarded()) {
          malformed = true;
          input = Json::object();
        }
        content.push_back(Json{
            {"toolUse", Json{{"toolUseId", c.id}, {"name", c.name}, {"input", std::move(input)}}}});
      }
    }
    if (!stream_) {
      if (r.finish == Finish::kError) {
        AwsError e{424, "ModelErrorException", r.error};
        e.extra["originalStatusCode"] = 500;
        return respond_aws_error(gate_.responder(), e, request_id_);
      }
      if (content.empty()) content.push_back(Json{{"text", ""}});
      Json body{{"output", Json{{"message", Json{{"role", "assistant"}, {"content", content}}}}},
                {"stopReason", stop_reason(r, malformed)},
                {"usage", usage_json},
                {"metrics", Json{{"latencyMs", ms_since(start_)}}}};
      gate_.responder().respond(
          200, {{"Content-Type", "application/json"}, {"x-amzn-RequestId", request_id_}},
          dump(body));
      return;
    }
    if (r.finish == Finish::kError) {
      gate_.write(aws::exception_message(
          "modelStreamErrorException",
          dump(Json{
              {"message", r.error}, {"originalStatusCode", 500}, {"originalMessage", r.error}})));
      gate_.end();
      return;
    }
    switch_block(Block::kNone);
    event("messageStop", Json{{"stopReason", stop_reason(r, malformed)}});
    event("metadata",
          Json{{"usage", usage_json}, {"metrics", Json{{"latencyMs", ms_since(start_)}}}});
    gate_.end();
  }

 private:
  enum class Block { kNone, kReasoning, kText, kTool };

  void event(const char* type, const Json& payload) {
    gate_.write(aws::event_message(type, dump(payload)));
  }
  void delta(Json d) {
    event("contentBlockDelta", Json{{"contentBlockIndex", index_}, {"delta", d}});
  }
  void switch_block(Block next) {
    if (block_ == next && next != Block::kTool) return;
    if (block_ != Block::kNone) event("contentBlockStop", Json{{"contentBlockIndex", index_}});
    if (block_ != Block::kNone || started_) ++index_;
    if (next != Block::kNone) started_ = true;
    block_ = next;
  }

  StreamGate gate_;
  std::string request_id_;
  bool stream_;
  Clock::time_point start_;
  Block block_ = Block::kNone;
  bool started_ = false;
  int index_ = 0;
};

std::optional<AwsError> start_converse(Service& svc, std::shared_ptr<ServedModel> served,
                                       const Json& body, bool stream, const std::string& request_id,
                                       std::shared_ptr<http::Responder> out) {
  Json chat = Json::object();
  if (auto err = converse_to_chat(body, chat)) return err;
  Result<harmony::ChatRequest> req = harmony::parse_chat_request(chat);
  if (!req.ok()) return aws_validation(req.message());
  GenerationSpec spec;
  spec.model = served;
  if (auto err =
          parse_generation_params(chat, Endpoint::kChat, served->engine->n_vocab(), spec.params)) {
    return aws_validation(err->message);
  }
  spec.params.n = 1;
  spec.params.stream = stream;
  Result<std::vector<tokenizer::TokenId>> ids = harmony::render_prompt(*served->tokenizer, *req);
  if (!ids.ok()) return aws_validation(ids.message());
  spec.prompt.assign(ids->begin(), ids->end());
  if (auto err = add_constraint(*req, spec)) return to_aws(*err);
  auto sink = std::make_shared<ConverseSink>(out, request_id, stream);
  if (auto err = start_generation(svc, std::move(spec), sink, *out)) return to_aws(*err);
  if (stream) sink->open();
  return std::nullopt;
}

std::optional<AwsError> start_invoke(Service& svc, std::shared_ptr<ServedModel> served, Json body,
                                     const std::string& model, bool stream,
                                     const std::string& request_id,
                                     std::shared_ptr<http::Responder> out) {
  if (auto m = body.find("model"); m != body.end() && !m->is_null()) {
    if (!m->is_string() || svc.find_model(m->get<std::string>()) != served) {
      return aws_validation("The model in the request body does not match the model in the URL.");
    }
  }
  if (auto s = body.find("stream"); s != body.end() && !s->is_null()) {
    if (!s->is_boolean() || s->get<bool>() != stream) {
      return aws_validation(stream ? "stream must be true for InvokeModelWithResponseStream."
                                   : "stream must be false for InvokeModel; use "
                                     "InvokeModelWithResponseStream to stream.");
    }
  }
  body["stream"] = stream;
  body.erase("stream_options");
  ChatOutput o;
  o.inline_reasoning = true;
  o.headers = {{"x-amzn-RequestId", request_id}};
  const auto t0 = Clock::now();
  if (stream) {
    o.content_type = "application/vnd.amazon.eventstream";
    o.headers.push_back({"X-Amzn-Bedrock-Content-Type", "application/json"});
    o.frame = [](const Json& chunk) {
      return aws::event_message("chunk", dump(Json{{"bytes", base64_encode(dump(chunk))}}));
    };
    o.done = "";
    o.frame_error = [](const std::string& message) {
      return aws::exception_message(
          "modelStreamErrorException",
          dump(Json{
              {"message", message}, {"originalStatusCode", 500}, {"originalMessage", message}}));
    };
    o.decorate_last = [t0](Json& last, const Usage& u) {
      const int64_t ms = ms_since(t0);
      last["amazon-bedrock-invocationMetrics"] = Json{{"inputTokenCount", u.prompt_tokens},
                                                      {"outputTokenCount", u.completion_tokens},
                                                      {"invocationLatency", ms},
                                                      {"firstByteLatency", ms}};
    };
  } else {
    o.usage_headers = [t0](const Usage& u) {
      return std::vector<http::Header>{
          {"X-Amzn-Bedrock-Input-Token-Count", std::to_string(u.prompt_tokens)},
          {"X-Amzn-Bedrock-Output-Token-Count", std::to_string(u.completion_tokens)},
          {"X-Amzn-Bedrock-Invocation-Latency", std::to_string(ms_since(t0))}};
    };
  }
  if (auto err = start_chat_completion(svc, body, model, std::move(served), out, std::move(o))) {
    return to_aws(*err);
  }
  return std::nullopt;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) |
                       (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < bytes.size()) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

void handle_bedrock(Service& svc, const http::Request& r, std::string_view label,
                    std::string_view op, const std::string& request_id,
                    std::shared_ptr<http::Responder> out) {
  auto fail = [&](const AwsError& e) {
    ++svc.metrics().request_errors;
    respond_aws_error(*out, e, request_id);
  };
  if (r.method != "POST") {
    return fail(AwsError{405, "UnknownOperationException", "Only POST is supported here."});
  }
  const std::string id = aws::percent_decode(label);
  if (!valid_model_id(id)) return fail(aws_validation("The provided model identifier is invalid."));
  std::shared_ptr<ServedModel> model = svc.find_model(id);
  if (!model && id.starts_with("arn:")) {
    // Quarry choice: other Bedrock ARNs (inference profiles, provisioned and
    // imported models) by their last segment, without a geography prefix.
    const std::string last = id.substr(id.rfind('/') + 1);
    model = svc.find_model(last);
    if (const size_t dot = last.find('.'); !model && dot != std::string::npos) {
      model = svc.find_model(last.substr(dot + 1));
    }
  }
  if (!model) {
    return fail(AwsError{404, "ResourceNotFoundException", "The model " + id + " was not found."});
  }
  Json body = Json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return fail(aws_validation("The request body is not a valid JSON object."));
  }
  std::optional<AwsError> err;
  if (op == "converse" || op == "converse-stream") {
    err = start_converse(svc, model, body, op == "converse-stream", request_id, out);
  } else if (op == "invoke" || op == "invoke-with-response-stream") {
    err = start_invoke(svc, model, std::move(body), id, op != "invoke", request_id, out);
  } else {
    err = AwsError{404, "UnknownOperationException", "Unknown operation " + std::string(op) + "."};
  }
  if (err) fail(*err);
}

}  // namespace quarry::api
