// POST /v1/responses, the core subset (shared/spec/apis.md §2.6): the input
// items become a chat request (so one harmony renderer serves both APIs); the
// output becomes reasoning, message and function_call items, whole or as the
// named stream events.
#include <ctime>

#include "api/constraints.h"
#include "api/generation.h"
#include "harmony/chat_request.h"
#include "harmony/renderer.h"

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

// Text of a content field: a string, or parts with "text".
std::optional<std::string> content_text(const Json& c) {
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) return std::nullopt;
  std::string s;
  for (const Json& part : c) {
    if (!part.is_object() || !part.contains("text") || !part["text"].is_string()) {
      return std::nullopt;
    }
    s += part["text"].get<std::string>();
  }
  return s;
}

// The Responses request as a Chat Completions body.
std::optional<ApiError> to_chat_body(const Json& body, Json& chat) {
  if (auto prev = body.find("previous_response_id"); prev != body.end() && !prev->is_null()) {
    return invalid(
        "previous_response_id: stored responses are not supported; send the whole "
        "conversation in input",
        "previous_response_id");
  }
  Json messages = Json::array();
  if (auto ins = body.find("instructions"); ins != body.end() && !ins->is_null()) {
    if (!ins->is_string()) return invalid("instructions: expected a string", "instructions");
    messages.push_back(Json{{"role", "developer"}, {"content", *ins}});
  }
  auto input = body.find("input");
  if (input == body.end() || input->is_null()) {
    return invalid("input: required", "input", "missing_required_parameter");
  }
  if (input->is_string()) {
    messages.push_back(Json{{"role", "user"}, {"content", *input}});
  } else if (input->is_array()) {
    std::optional<std::string> reasoning;
    for (size_t i = 0; i < input->size(); ++i) {
      const Json& item = (*input)[i];
      const std::string at = "input[" + std::to_string(i) + "]";
      if (!item.is_object()) return invalid(at + ": expected an object", at);
      const std::string type = item.value("type", std::string("message"));
      if (type == "message") {
        auto text = item.contains("content") ? content_text(item["content"]) : std::nullopt;
        if (!text)
          return invalid(at + ".content: expected a string or text parts", at + ".content");
        Json m{{"role", item.value("role", std::string())}, {"content", *text}};
        if (reasoning && m["role"] == "assistant") m["reasoning"] = *reasoning;
        reasoning.reset();
        messages.push_back(std::move(m));
      } else if (type == "function_call") {
        for (const char* f : {"call_id", "name", "arguments"}) {
          if (!item.contains(f) || !item[f].is_string()) {
            return invalid(at + "." + f + ": expected a string", at + "." + f);
          }
        }
        Json call{{"id", item["call_id"]},
                  {"type", "function"},
                  {"function", Json{{"name", item["name"]}, {"arguments", item["arguments"]}}}};
        // Consecutive calls belong to one assistant turn.
        if (!messages.empty() && messages.back()["role"] == "assistant" &&
            messages.back().contains("tool_calls")) {
          messages.back()["tool_calls"].push_back(std::move(call));
        } else {
          Json m{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", Json::array({call})}};
          if (reasoning) m["reasoning"] = *reasoning;
          reasoning.reset();
          messages.push_back(std::move(m));
        }
      } else if (type == "function_call_output") {
        if (!item.contains("call_id") || !item["call_id"].is_string()) {
          return invalid(at + ".call_id: expected a string", at + ".call_id");
        }
        const Json out = item.value("output", Json(""));
        auto text = content_text(out);
        if (!text) return invalid(at + ".output: expected a string", at + ".output");
        messages.push_back(
            Json{{"role", "tool"}, {"tool_call_id", item["call_id"]}, {"content", *text}});
      } else if (type == "reasoning") {
        std::string text;
        for (const char* f : {"content", "summary"}) {
          if (item.contains(f) && text.empty()) text = content_text(item[f]).value_or("");
        }
        if (!text.empty()) reasoning = text;
      } else {
        return invalid(at + ".type: unsupported input item type \"" + type + "\"", at + ".type");
      }
    }
  } else {
    return invalid("input: expected a string or an array of items", "input");
  }
  chat["messages"] = std::move(messages);
  if (auto tools = body.find("tools"); tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return invalid("tools: expected an array", "tools");
    Json out = Json::array();
    for (size_t i = 0; i < tools->size(); ++i) {
      const Json& t = (*tools)[i];
      const std::string at = "tools[" + std::to_string(i) + "]";
      if (!t.is_object() || t.value("type", std::string()) != "function") {
        return invalid(at + ".type: only function tools are supported", at + ".type");
      }
      Json fn = Json::object();
      for (const char* f : {"name", "description", "parameters", "strict"}) {
        if (t.contains(f)) fn[f] = t[f];
      }
      out.push_back(Json{{"type", "function"}, {"function", std::move(fn)}});
    }
    chat["tools"] = std::move(out);
  }
  if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
    if (tc->is_object() && tc->contains("name")) {
      chat["tool_choice"] = Json{{"type", "function"}, {"function", Json{{"name", (*tc)["name"]}}}};
    } else {
      chat["tool_choice"] = *tc;
    }
  }
  if (auto r = body.find("reasoning");
      r != body.end() && r->is_object() && r->contains("effort") && !(*r)["effort"].is_null()) {
    chat["reasoning_effort"] = (*r)["effort"];
  }
  if (auto t = body.find("text"); t != body.end() && t->is_object() && t->contains("format")) {
    const Json& f = (*t)["format"];
    if (f.is_object() && f.value("type", std::string()) == "json_schema") {
      Json js = Json::object();
      for (const char* k : {"name", "schema", "strict", "description"}) {
        if (f.contains(k)) js[k] = f[k];
      }
      chat["response_format"] = Json{{"type", "json_schema"}, {"json_schema", std::move(js)}};
    } else {
      chat["response_format"] = f;
    }
  }
  return std::nullopt;
}

struct Item {
  enum class Kind { kReasoning, kMessage, kCall };
  Item(Kind k, std::string item_id) : kind(k), id(std::move(item_id)) {}
  Kind kind;
  std::string id, text, call_id, name;
  bool done = false;
};

class ResponsesSink : public GenerationSink {
 public:
  ResponsesSink(Service& svc, std::shared_ptr<http::Responder> out, std::string model,
                const Json& body, const GenerationParams& p)
      : svc_(svc), gate_(std::move(out)), p_(p) {
    base_["id"] = Service::new_id("resp_");
    base_["object"] = "response";
    base_["created_at"] = static_cast<int64_t>(std::time(nullptr));
    base_["status"] = "in_progress";
    base_["incomplete_details"] = nullptr;
    base_["error"] = nullptr;
    base_["model"] = std::move(model);
    base_["instructions"] = body.value("instructions", Json());
    base_["output"] = Json::array();
    base_["usage"] = nullptr;
    base_["parallel_tool_calls"] = body.value("parallel_tool_calls", Json(true));
    base_["tool_choice"] = body.value("tool_choice", Json("auto"));
    base_["tools"] = body.value("tools", Json::array());
    base_["temperature"] = p.sampling.temperature;
    base_["top_p"] = body.value("top_p", Json(1));
    base_["max_output_tokens"] = body.value("max_output_tokens", Json());
    base_["previous_response_id"] = nullptr;
    Json effort = "medium";
    if (auto r = body.find("reasoning"); r != body.end() && r->is_object()) {
      effort = r->value("effort", Json("medium"));
    }
    base_["reasoning"] = Json{{"effort", effort}, {"summary", nullptr}};
    base_["store"] = false;
    base_["text"] = body.value("text", Json{{"format", Json{{"type", "text"}}}});
    base_["truncation"] = "disabled";
    base_["metadata"] = body.value("metadata", Json::object());
  }

  void open() {
    gate_.open(200, {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}});
  }

  void on_deltas(size_t, std::vector<ChoiceDelta>& deltas) override {
    if (first_) {
      first_ = false;
      event("response.created", Json{{"response", base_}});
      event("response.in_progress", Json{{"response", base_}});
    }
    for (ChoiceDelta& d : deltas) {
      switch (d.kind) {
        case ChoiceDelta::Kind::kReasoning:
          if (current() != Item::Kind::kReasoning)
            open_item(Item(Item::Kind::kReasoning, Service::new_id("rs_")));
          append(d.text, "response.reasoning_text.delta");
          break;
        case ChoiceDelta::Kind::kContent:
          if (d.text.empty()) break;
          if (current() != Item::Kind::kMessage)
            open_item(Item(Item::Kind::kMessage, Service::new_id("msg_")));
          append(d.text, "response.output_text.delta");
          break;
        case ChoiceDelta::Kind::kToolCallStart: {
          Item it(Item::Kind::kCall, Service::new_id("fc_"));
          it.call_id = d.tool_id;
          it.name = d.text;
          open_item(std::move(it));
          break;
        }
        case ChoiceDelta::Kind::kToolCallArguments:
          if (current() == Item::Kind::kCall)
            append(d.text, "response.function_call_arguments.delta");
          break;
      }
    }
  }

  void on_choice_done(size_t, const ChoiceResult&) override {}

  void on_all_done(const std::vector<ChoiceResult>& results, const Usage& usage) override {
    std::vector<ChoiceDelta> none;
    on_deltas(0, none);  // created/in_progress even when nothing was generated
    close_item();
    const ChoiceResult& r = results.front();
    Json resp = base_;
    Json output = Json::array();
    for (const Item& it : items_) output.push_back(item_json(it));
    resp["output"] = std::move(output);
    resp["usage"] =
        Json{{"input_tokens", usage.prompt_tokens},
             {"input_tokens_details", Json{{"cached_tokens", usage.cached_tokens}}},
             {"output_tokens", usage.completion_tokens},
             {"output_tokens_details", Json{{"reasoning_tokens", usage.reasoning_tokens}}},
             {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
    std::string final_event = "response.completed";
    if (r.finish == Finish::kError) {
      resp["status"] = "failed";
      resp["error"] = Json{{"code", "server_error"}, {"message", r.error}};
      final_event = "response.failed";
      if (p_.stream) {
        event("error", Json{{"code", "server_error"}, {"message", r.error}, {"param", nullptr}});
      }
    } else if (r.finish == Finish::kLength) {
      resp["status"] = "incomplete";
      resp["incomplete_details"] = Json{{"reason", "max_output_tokens"}};
      final_event = "response.incomplete";
    } else {
      resp["status"] = "completed";
    }
    if (!p_.stream) {
      if (r.finish == Finish::kError) {
        const ApiError e = server_error(r.error);
        return svc_.respond_error(gate_.responder(), e);
      }
      return svc_.respond_json(gate_.responder(), 200, resp);
    }
    event(final_event, Json{{"response", std::move(resp)}});
    gate_.end();
  }

 private:
  std::optional<Item::Kind> current() const {
    if (items_.empty() || items_.back().done) return std::nullopt;
    return items_.back().kind;
  }

  Json part_json(const Item& it) const {
    if (it.kind == Item::Kind::kReasoning)
      return Json{{"type", "reasoning_text"}, {"text", it.text}};
    return Json{{"type", "output_text"}, {"text", it.text}, {"annotations", Json::array()}};
  }

  Json item_json(const Item& it) const {
    const char* status = it.done ? "completed" : "in_progress";
    switch (it.kind) {
      case Item::Kind::kReasoning:
        return Json{{"type", "reasoning"},
                    {"id", it.id},
                    {"summary", Json::array()},
                    {"content", it.done ? Json::array({part_json(it)}) : Json::array()},
                    {"status", status}};
      case Item::Kind::kMessage: {
        Json part = part_json(it);
        part["logprobs"] = Json::array();
        return Json{{"type", "message"},
                    {"id", it.id},
                    {"role", "assistant"},
                    {"status", status},
                    {"content", it.done ? Json::array({part}) : Json::array()}};
      }
      case Item::Kind::kCall:
        return Json{{"type", "function_call"}, {"id", it.id},          {"call_id", it.call_id},
                    {"name", it.name},         {"arguments", it.text}, {"status", status}};
    }
    return Json();
  }

  void open_item(Item it) {
    close_item();
    items_.push_back(std::move(it));
    const size_t index = items_.size() - 1;
    const Item& cur = items_.back();
    event("response.output_item.added", Json{{"output_index", index}, {"item", item_json(cur)}});
    if (cur.kind != Item::Kind::kCall) {
      Json part = part_json(cur);
      event(
          "response.content_part.added",
          Json{{"item_id", cur.id}, {"output_index", index}, {"content_index", 0}, {"part", part}});
    }
  }

  void append(const std::string& text, const char* type) {
    Item& it = items_.back();
    it.text += text;
    Json e{{"item_id", it.id}, {"output_index", items_.size() - 1}};
    if (it.kind != Item::Kind::kCall) e["content_index"] = 0;
    e["delta"] = text;
    if (it.kind == Item::Kind::kMessage) e["logprobs"] = Json::array();
    event(type, std::move(e));
  }

  void close_item() {
    if (!current()) return;
    Item& it = items_.back();
    it.done = true;
    const size_t index = items_.size() - 1;
    if (it.kind == Item::Kind::kCall) {
      event("response.function_call_arguments.done", Json{{"item_id", it.id},
                                                          {"output_index", index},
                                                          {"name", it.name},
                                                          {"arguments", it.text}});
    } else {
      const char* done = it.kind == Item::Kind::kReasoning ? "response.reasoning_text.done"
                                                           : "response.output_text.done";
      event(done, Json{{"item_id", it.id},
                       {"output_index", index},
                       {"content_index", 0},
                       {"text", it.text}});
      event("response.content_part.done", Json{{"item_id", it.id},
                                               {"output_index", index},
                                               {"content_index", 0},
                                               {"part", part_json(it)}});
    }
    event("response.output_item.done", Json{{"output_index", index}, {"item", item_json(it)}});
  }

  void event(const std::string& type, Json data) {
    if (!p_.stream) return;
    Json j;
    j["type"] = type;
    j["sequence_number"] = seq_++;
    for (auto& [k, v] : data.items()) j[k] = v;
    std::string s = "event: " + type +
                    "\ndata: " + j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n\n";
    gate_.write(std::move(s));
  }

  Service& svc_;
  StreamGate gate_;
  GenerationParams p_;
  Json base_;
  std::vector<Item> items_;
  bool first_ = true;
  uint64_t seq_ = 0;
};

}  // namespace

void handle_responses(Service& svc, const Json& body, const std::string& model,
                      std::shared_ptr<ServedModel> served, std::shared_ptr<http::Responder> out) {
  Json chat;
  if (auto err = to_chat_body(body, chat)) return svc.respond_error(*out, *err);
  Result<harmony::ChatRequest> req = harmony::parse_chat_request(chat);
  if (!req.ok()) return svc.respond_error(*out, invalid_from_path_message(req.message()));
  GenerationSpec spec;
  spec.model = served;
  if (auto err = parse_generation_params(body, Endpoint::kResponses, served->engine->n_vocab(),
                                         spec.params)) {
    return svc.respond_error(*out, *err);
  }
  Result<std::vector<tokenizer::TokenId>> ids = harmony::render_prompt(*served->tokenizer, *req);
  if (!ids.ok()) return svc.respond_error(*out, invalid(ids.message()));
  spec.prompt.assign(ids->begin(), ids->end());
  if (auto err = add_constraint(*req, spec)) return svc.respond_error(*out, *err);
  const GenerationParams params = spec.params;
  auto sink = std::make_shared<ResponsesSink>(svc, out, model, body, params);
  if (auto err = start_generation(svc, std::move(spec), sink, *out)) {
    return svc.respond_error(*out, *err);
  }
  if (params.stream) sink->open();
}

}  // namespace quarry::api
