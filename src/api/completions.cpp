// POST /v1/completions (shared/spec/apis.md §2.5): raw text continuation, no
// chat template. One prompt per request (a string, or an array of token ids;
// an array of several prompts is refused with a clear message).
#include <ctime>

#include "api/generation.h"

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

std::string sse(const Json& j) {
  return "data: " + j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
}

// OpenAI's legacy logprobs object for the completions API.
Json legacy_logprobs(const Json& entries) {
  Json tokens = Json::array(), lps = Json::array(), tops = Json::array(), offs = Json::array();
  size_t offset = 0;
  for (const Json& e : entries) {
    tokens.push_back(e["token"]);
    lps.push_back(e["logprob"]);
    Json top = Json::object();
    for (const Json& t : e["top_logprobs"]) top[t["token"].get<std::string>()] = t["logprob"];
    tops.push_back(std::move(top));
    offs.push_back(offset);
    offset += e["bytes"].size();
  }
  return Json{
      {"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offs}};
}

class CompletionSink : public GenerationSink {
 public:
  CompletionSink(Service& svc, std::shared_ptr<http::Responder> out, std::string model,
                 const GenerationParams& p, std::string echo)
      : svc_(svc),
        gate_(std::move(out)),
        id_(Service::new_id("cmpl-")),
        model_(std::move(model)),
        created_(static_cast<int64_t>(std::time(nullptr))),
        p_(p),
        echo_(std::move(echo)) {}

  void open(size_t n) {
    std::string first;
    if (!echo_.empty()) {
      for (size_t i = 0; i < n; ++i) first += sse(chunk(i, echo_, nullptr));
    }
    gate_.open(200, {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}},
               std::move(first));
  }

  void on_deltas(size_t i, std::vector<ChoiceDelta>& deltas) override {
    if (!p_.stream) return;
    for (ChoiceDelta& d : deltas) {
      if (d.kind != ChoiceDelta::Kind::kContent) continue;
      Json lp = p_.top_logprobs >= 0 ? legacy_logprobs(d.logprobs) : Json();
      emit(sse(chunk(i, d.text, std::move(lp))));
    }
  }

  void on_choice_done(size_t i, const ChoiceResult& r) override {
    if (!p_.stream || r.finish == Finish::kError) return;
    emit(sse(chunk(i, "", nullptr, finish_name(r.finish))));
  }

  void on_all_done(const std::vector<ChoiceResult>& results, const Usage& usage) override {
    Json u{{"prompt_tokens", usage.prompt_tokens},
           {"completion_tokens", usage.completion_tokens},
           {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
    if (p_.stream) {
      for (const ChoiceResult& r : results) {
        if (r.finish == Finish::kError) {
          const ApiError e = server_error(r.error);
          emit("data: " + error_body(e) + "\n\n");
          break;
        }
      }
      if (p_.include_usage) {
        Json last = base();
        last["choices"] = Json::array();
        last["usage"] = u;
        emit(sse(last));
      }
      emit("data: [DONE]\n\n");
      gate_.end();
      return;
    }
    Json choices = Json::array();
    for (size_t i = 0; i < results.size(); ++i) {
      const ChoiceResult& r = results[i];
      if (r.finish == Finish::kError) {
        const ApiError e = server_error(r.error);
        return svc_.respond_error(gate_.responder(), e);
      }
      Json c;
      c["index"] = i;
      c["text"] = echo_ + r.decoder->content();
      c["logprobs"] = p_.top_logprobs >= 0 ? legacy_logprobs(r.decoder->logprobs()) : Json();
      c["finish_reason"] = finish_name(r.finish == Finish::kToolCalls ? Finish::kStop : r.finish);
      choices.push_back(std::move(c));
    }
    Json body = base();
    body["choices"] = std::move(choices);
    body["usage"] = std::move(u);
    svc_.respond_json(gate_.responder(), 200, body);
  }

 private:
  Json base() const {
    return Json{
        {"id", id_}, {"object", "text_completion"}, {"created", created_}, {"model", model_}};
  }
  Json chunk(size_t i, const std::string& text, Json lp, const char* finish = nullptr) const {
    Json j = base();
    j["choices"] = Json::array({Json{{"index", i},
                                     {"text", text},
                                     {"logprobs", std::move(lp)},
                                     {"finish_reason", finish ? Json(finish) : Json(nullptr)}}});
    if (p_.include_usage) j["usage"] = nullptr;
    return j;
  }
  void emit(std::string s) { gate_.write(std::move(s)); }

  Service& svc_;
  StreamGate gate_;
  std::string id_, model_;
  int64_t created_;
  GenerationParams p_;
  std::string echo_;
};

}  // namespace

void handle_completions(Service& svc, const Json& body, const std::string& model,
                        std::shared_ptr<ServedModel> served, std::shared_ptr<http::Responder> out) {
  GenerationSpec spec;
  spec.raw = true;
  spec.model = served;
  if (auto err = parse_generation_params(body, Endpoint::kCompletions, served->engine->n_vocab(),
                                         spec.params)) {
    return svc.respond_error(*out, *err);
  }
  auto prompt = body.find("prompt");
  if (prompt == body.end() || prompt->is_null()) {
    return svc.respond_error(*out,
                             invalid("prompt: required", "prompt", "missing_required_parameter"));
  }
  const Json* p = &*prompt;
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) p = &(*p)[0];
  std::string text;
  if (p->is_string()) {
    text = p->get<std::string>();
    for (tokenizer::TokenId id : served->tokenizer->encode(text, tokenizer::Specials::kAll)) {
      spec.prompt.push_back(static_cast<int32_t>(id));
    }
  } else if (p->is_array() && !p->empty() && (*p)[0].is_number_integer()) {
    for (size_t i = 0; i < p->size(); ++i) {
      const Json& v = (*p)[i];
      if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
          v.get<int64_t>() >= static_cast<int64_t>(served->engine->n_vocab())) {
        const std::string param = "prompt[" + std::to_string(i) + "]";
        return svc.respond_error(*out, invalid(param + ": not a token id of this model", param));
      }
      spec.prompt.push_back(v.get<int32_t>());
    }
    if (spec.params.echo) {
      std::vector<tokenizer::TokenId> ids(spec.prompt.begin(), spec.prompt.end());
      auto t = served->tokenizer->decode(ids);
      if (t.ok()) text = *t;
    }
  } else if (p->is_array() && p->size() > 1) {
    return svc.respond_error(
        *out, invalid("prompt: several prompts in one request are not supported; send one request "
                      "per prompt",
                      "prompt"));
  } else {
    return svc.respond_error(
        *out, invalid("prompt: expected a string or an array of token ids", "prompt"));
  }
  const GenerationParams params = spec.params;
  auto sink =
      std::make_shared<CompletionSink>(svc, out, model, params, params.echo ? text : std::string());
  if (auto err = start_generation(svc, std::move(spec), sink, *out)) {
    return svc.respond_error(*out, *err);
  }
  if (params.stream) sink->open(params.n);
}

}  // namespace quarry::api
