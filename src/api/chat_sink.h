// The Chat Completions output of a generation, whole (one chat.completion) or
// streamed (chat.completion.chunk events). Shared by /v1/chat/completions,
// Bedrock InvokeModel (reasoning inline as <reasoning>...</reasoning>, chunks
// framed as event-stream `chunk` events) and SageMaker InvokeEndpoint (the
// SSE bytes inside PayloadPart events): the routes differ only in ChatOutput.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/generation.h"

namespace quarry::api {

struct ChatOutput {
  // Bedrock InvokeModel: the reasoning goes into `content` as a leading
  // <reasoning>...</reasoning> block instead of reasoning fields.
  bool inline_reasoning = false;
  // Streaming: the wire bytes of one chunk object; default SSE `data: ...\n\n`.
  std::function<std::string(const nlohmann::ordered_json& chunk)> frame;
  // Streaming: the bytes that end the stream; default `data: [DONE]\n\n`.
  std::optional<std::string> done;
  // Streaming: the wire bytes of an error after the 200; default SSE data.
  std::function<std::string(const std::string& message)> frame_error;
  std::string content_type = "text/event-stream";
  std::vector<http::Header> headers;  // added to the response (whole or streamed)
  // Called with the last chunk (finish and usage) before it is framed, e.g.
  // to add Bedrock's invocation metrics.
  std::function<void(nlohmann::ordered_json& last, const Usage& usage)> decorate_last;
  // Whole responses: extra headers computed from the usage.
  std::function<std::vector<http::Header>(const Usage& usage)> usage_headers;
};

class ChatSink : public GenerationSink {
 public:
  ChatSink(Service& svc, std::shared_ptr<http::Responder> out, std::string model,
           const GenerationParams& p, ChatOutput output = {});

  // Streaming: opens the response once the engine accepted the request.
  void open(size_t n);

  void on_deltas(size_t i, std::vector<ChoiceDelta>& deltas) override;
  void on_choice_done(size_t i, const ChoiceResult& r) override;
  void on_all_done(const std::vector<ChoiceResult>& results, const Usage& usage) override;

 private:
  nlohmann::ordered_json base() const;
  nlohmann::ordered_json chunk(size_t i, nlohmann::ordered_json delta,
                               nlohmann::ordered_json logprobs = nullptr,
                               const char* finish = nullptr) const;
  std::string frame(const nlohmann::ordered_json& j) const;

  Service& svc_;
  StreamGate gate_;
  std::string id_, model_;
  int64_t created_;
  bool stream_, include_usage_, logprobs_;
  ChatOutput output_;
  bool error_sent_ = false;
  std::vector<bool> in_reasoning_;  // inline_reasoning: a <reasoning> block is open
  std::vector<nlohmann::ordered_json> held_finish_;  // decorate_last: finish chunks held back
};

nlohmann::ordered_json chat_usage_json(const Usage& u);

}  // namespace quarry::api
