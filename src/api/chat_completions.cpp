// POST /v1/chat/completions (shared/spec/apis.md §2.4): the request becomes a
// harmony prompt; the choices stream back as chat.completion.chunk events or
// come back whole as one chat.completion (ChatSink).
#include "api/chat_completions.h"

#include "api/constraints.h"
#include "harmony/chat_request.h"
#include "harmony/renderer.h"

namespace quarry::api {

std::optional<ApiError> start_chat_completion(Service& svc, const nlohmann::ordered_json& body,
                                              const std::string& model,
                                              std::shared_ptr<ServedModel> served,
                                              std::shared_ptr<http::Responder> out,
                                              ChatOutput output) {
  Result<harmony::ChatRequest> req = harmony::parse_chat_request(body);
  if (!req.ok()) return invalid_from_path_message(req.message());
  GenerationSpec spec;
  spec.model = std::move(served);
  if (auto err = parse_generation_params(body, Endpoint::kChat, spec.model->engine->n_vocab(),
                                         spec.params)) {
    return err;
  }
  Result<std::vector<tokenizer::TokenId>> ids =
      harmony::render_prompt(*spec.model->tokenizer, *req);
  if (!ids.ok()) return invalid(ids.message());
  spec.prompt.assign(ids->begin(), ids->end());
  if (auto err = add_constraint(*req, spec)) return err;
  const GenerationParams params = spec.params;
  auto sink = std::make_shared<ChatSink>(svc, out, model, params, std::move(output));
  if (auto err = start_generation(svc, std::move(spec), sink, *out)) return err;
  if (params.stream) sink->open(params.n);
  return std::nullopt;
}

void handle_chat_completions(Service& svc, const nlohmann::ordered_json& body,
                             const std::string& model, std::shared_ptr<ServedModel> served,
                             std::shared_ptr<http::Responder> out) {
  if (auto err = start_chat_completion(svc, body, model, std::move(served), out)) {
    svc.respond_error(*out, *err);
  }
}

}  // namespace quarry::api
