// One generation request of the API: the n choices of one prompt running on
// the engine, decoded as they arrive (ChoiceDecoder) and reported to the
// endpoint's formatter (a GenerationSink) on the engine thread. Handles stop
// strings (cancels the choice in the engine), client disconnects (cancels
// every choice), usage and the latency metrics.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "api/choice_decoder.h"
#include "api/errors.h"
#include "api/request_params.h"
#include "api/served_model.h"
#include "api/service.h"

namespace quarry::api {

enum class Finish { kStop, kLength, kToolCalls, kError };
const char* finish_name(Finish f);  // OpenAI's finish_reason: "stop", "length", "tool_calls"

struct Usage {
  size_t prompt_tokens = 0;
  size_t completion_tokens = 0;
  size_t reasoning_tokens = 0;
  size_t cached_tokens = 0;
};

struct ChoiceResult {
  const ChoiceDecoder* decoder = nullptr;  // content, reasoning, tool calls, logprobs
  Finish finish = Finish::kStop;
  size_t tokens = 0;
  bool context_full = false;  // kLength because the context window was reached
  std::string error;          // for kError
};

// Called on the engine thread, one generation at a time (never concurrently).
class GenerationSink {
 public:
  virtual ~GenerationSink() = default;
  virtual void on_deltas(size_t choice, std::vector<ChoiceDelta>& deltas) = 0;
  virtual void on_choice_done(size_t choice, const ChoiceResult& result) = 0;
  // Every choice is done (results in choice order).
  virtual void on_all_done(const std::vector<ChoiceResult>& results, const Usage& usage) = 0;
};

struct GenerationSpec {
  std::shared_ptr<ServedModel> model;  // the engine and tokenizer to use
  std::vector<int32_t> prompt;
  GenerationParams params;
  bool raw = false;  // completions: plain text, no harmony parsing
  // Extra engine stop ids (the harmony stops are always there).
  std::vector<int32_t> stop_ids;
  // Makes each choice's logits processor (constrained decoding), given the
  // choice's token budget; may be empty.
  std::function<engine::LogitsProcessor(size_t max_tokens)> make_processor;
};

// The response side of a streamed generation: the engine thread may produce
// output before the handler has opened the stream (it opens only once the
// engine accepted the request, so refusals keep their status codes); output
// until then is kept and sent, in order, right after the headers.
class StreamGate {
 public:
  explicit StreamGate(std::shared_ptr<http::Responder> out) : out_(std::move(out)) {}
  // `first` goes out before anything written meanwhile.
  void open(int status, std::vector<http::Header> headers, std::string first = {});
  void write(std::string bytes);
  void end();
  http::Responder& responder() { return *out_; }

 private:
  std::shared_ptr<http::Responder> out_;
  std::mutex mu_;
  bool opened_ = false, ended_ = false;
  std::vector<std::string> pending_;
};

// Validates the token budget against the context window, submits every
// choice, and wires `out`'s disconnect to cancellation. On an error nothing
// keeps running and the caller answers with it.
std::optional<ApiError> start_generation(Service& svc, GenerationSpec spec,
                                         std::shared_ptr<GenerationSink> sink,
                                         http::Responder& out);

}  // namespace quarry::api
