#include "api/chat_sink.h"

#include <ctime>

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json tool_calls_json(const ChoiceDecoder& d) {
  Json calls = Json::array();
  for (const ToolCallOut& c : d.tool_calls()) {
    calls.push_back(Json{{"id", c.id},
                         {"type", "function"},
                         {"function", Json{{"name", c.name}, {"arguments", c.arguments}}}});
  }
  return calls;
}

}  // namespace

Json chat_usage_json(const Usage& u) {
  Json j;
  j["prompt_tokens"] = u.prompt_tokens;
  j["completion_tokens"] = u.completion_tokens;
  j["total_tokens"] = u.prompt_tokens + u.completion_tokens;
  j["prompt_tokens_details"] = Json{{"cached_tokens", u.cached_tokens}};
  j["completion_tokens_details"] = Json{{"reasoning_tokens", u.reasoning_tokens}};
  return j;
}

ChatSink::ChatSink(Service& svc, std::shared_ptr<http::Responder> out, std::string model,
                   const GenerationParams& p, ChatOutput output)
    : svc_(svc),
      gate_(std::move(out)),
      id_(Service::new_id("chatcmpl-")),
      model_(std::move(model)),
      created_(static_cast<int64_t>(std::time(nullptr))),
      stream_(p.stream),
      include_usage_(p.include_usage),
      logprobs_(p.top_logprobs >= 0),
      output_(std::move(output)),
      in_reasoning_(p.n, false) {}

std::string ChatSink::frame(const Json& j) const {
  return output_.frame ? output_.frame(j) : "data: " + dump(j) + "\n\n";
}

void ChatSink::open(size_t n) {
  std::string first;
  for (size_t i = 0; i < n; ++i)
    first += frame(chunk(i, Json{{"role", "assistant"}, {"content", ""}}));
  std::vector<http::Header> h = {
      {"Content-Type", output_.content_type}, {"Cache-Control", "no-cache"}, {"x-request-id", id_}};
  for (const http::Header& x : output_.headers) h.push_back(x);
  gate_.open(200, std::move(h), std::move(first));
}

void ChatSink::on_deltas(size_t i, std::vector<ChoiceDelta>& deltas) {
  if (!stream_) return;
  for (ChoiceDelta& d : deltas) {
    Json delta;
    Json lp = nullptr;
    switch (d.kind) {
      case ChoiceDelta::Kind::kReasoning:
        if (output_.inline_reasoning) {
          delta["content"] = (in_reasoning_[i] ? "" : "<reasoning>") + d.text;
          in_reasoning_[i] = true;
        } else {
          delta["reasoning_content"] = d.text;
          delta["reasoning"] = d.text;
        }
        break;
      case ChoiceDelta::Kind::kContent:
        delta["content"] = (in_reasoning_[i] ? "</reasoning>" : "") + d.text;
        in_reasoning_[i] = false;
        if (logprobs_) lp = Json{{"content", std::move(d.logprobs)}, {"refusal", nullptr}};
        break;
      case ChoiceDelta::Kind::kToolCallStart:
        delta["tool_calls"] =
            Json::array({Json{{"index", d.tool_index},
                              {"id", d.tool_id},
                              {"type", "function"},
                              {"function", Json{{"name", d.text}, {"arguments", ""}}}}});
        break;
      case ChoiceDelta::Kind::kToolCallArguments:
        delta["tool_calls"] =
            Json::array({Json{{"index", d.tool_index}, {"function", Json{{"arguments", d.text}}}}});
        break;
    }
    gate_.write(frame(chunk(i, std::move(delta), std::move(lp))));
  }
}

void ChatSink::on_choice_done(size_t i, const ChoiceResult& r) {
  if (!stream_) return;
  if (r.finish == Finish::kError) {
    if (!error_sent_) {
      error_sent_ = true;
      if (output_.frame_error) {
        gate_.write(output_.frame_error(r.error));
      } else {
        const ApiError e = server_error(r.error);
        gate_.write("data: " + error_body(e) + "\n\n");
      }
    }
    return;
  }
  Json delta = Json::object();
  if (in_reasoning_[i]) delta["content"] = "</reasoning>";
  Json last = chunk(i, std::move(delta), nullptr, finish_name(r.finish));
  if (output_.decorate_last) {
    held_finish_.push_back(std::move(last));  // framed once the usage is known
  } else {
    gate_.write(frame(last));
  }
}

void ChatSink::on_all_done(const std::vector<ChoiceResult>& results, const Usage& usage) {
  if (stream_) {
    for (size_t k = 0; k < held_finish_.size(); ++k) {
      if (k + 1 == held_finish_.size()) output_.decorate_last(held_finish_[k], usage);
      gate_.write(frame(held_finish_[k]));
    }
    if (include_usage_ && !error_sent_) {
      Json last = base();
      last["choices"] = Json::array();
      last["usage"] = chat_usage_json(usage);
      gate_.write(frame(last));
    }
    gate_.write(output_.done.value_or("data: [DONE]\n\n"));
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
    const ChoiceDecoder& d = *r.decoder;
    Json msg;
    msg["role"] = "assistant";
    const bool calls = !d.tool_calls().empty();
    std::string content = d.content();
    if (output_.inline_reasoning && d.has_reasoning()) {
      content = "<reasoning>" + d.reasoning() + "</reasoning>" + content;
    }
    msg["content"] = calls && content.empty() ? Json(nullptr) : Json(content);
    if (d.has_reasoning() && !output_.inline_reasoning) {
      msg["reasoning_content"] = d.reasoning();
      msg["reasoning"] = d.reasoning();
    }
    if (calls) msg["tool_calls"] = tool_calls_json(d);
    msg["refusal"] = nullptr;
    Json c;
    c["index"] = i;
    c["message"] = std::move(msg);
    c["logprobs"] = logprobs_ ? Json{{"content", d.logprobs()}, {"refusal", nullptr}} : Json();
    c["finish_reason"] = finish_name(r.finish);
    choices.push_back(std::move(c));
  }
  Json body = base();
  body["object"] = "chat.completion";
  body["choices"] = std::move(choices);
  body["usage"] = chat_usage_json(usage);
  std::vector<http::Header> h = {{"Content-Type", "application/json"}, {"x-request-id", id_}};
  for (const http::Header& x : output_.headers) h.push_back(x);
  if (output_.usage_headers) {
    for (http::Header& x : output_.usage_headers(usage)) h.push_back(std::move(x));
  }
  gate_.responder().respond(200, std::move(h), dump(body));
}

Json ChatSink::base() const {
  Json j;
  j["id"] = id_;
  j["object"] = "chat.completion.chunk";
  j["created"] = created_;
  j["model"] = model_;
  j["system_fingerprint"] = "quarry";
  return j;
}

Json ChatSink::chunk(size_t i, Json delta, Json logprobs, const char* finish) const {
  Json j = base();
  Json c;
  c["index"] = i;
  c["delta"] = std::move(delta);
  c["logprobs"] = std::move(logprobs);
  c["finish_reason"] = finish != nullptr ? Json(finish) : Json(nullptr);
  j["choices"] = Json::array({std::move(c)});
  if (include_usage_) j["usage"] = nullptr;
  return j;
}

}  // namespace quarry::api
