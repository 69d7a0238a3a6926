// `quarry harmony render`: one JSON line {"request": {...}, "options": {...}}
// -> {"prompt": "...", "ids": [...]}.
#include "cli/commands.h"
#include "harmony/chat_request.h"
#include "harmony/renderer.h"

namespace quarry::cli {
namespace {

Result<harmony::RenderOptions> parse_render_options(const Json& input) {
  harmony::RenderOptions options;
  auto it = input.find("options");
  if (it == input.end() || it->is_null()) return options;
  if (!it->is_object())
    return make_error(std::string("options: expected an object, got ") + it->type_name());
  if (auto d = it->find("current_date"); d != it->end() && !d->is_null()) {
    if (!d->is_string()) {
      return make_error(std::string("options.current_date: expected a string, got ") +
                        d->type_name());
    }
    options.current_date = d->get<std::string>();
  }
  if (auto g = it->find("add_generation_prompt"); g != it->end() && !g->is_null()) {
    if (!g->is_boolean()) {
      return make_error(std::string("options.add_generation_prompt: expected a boolean, got ") +
                        g->type_name());
    }
    options.add_generation_prompt = g->get<bool>();
  }
  return options;
}

}  // namespace

Result<Json> harmony_render_line(const tokenizer::Tokenizer& tok, const Json& input) {
  if (!input.is_object()) return make_error("input: expected an object");
  auto req_it = input.find("request");
  if (req_it == input.end()) return make_error("request: missing");
  auto request = harmony::parse_chat_request(*req_it);
  if (!request.ok()) {
    // Field paths are relative to the body, which itself is called "request".
    const std::string& msg = request.message();
    return make_error(msg.starts_with("request") ? msg : "request." + msg);
  }
  auto options = parse_render_options(input);
  if (!options.ok()) return options.error();
  auto ids = harmony::render_prompt(tok, *request, *options);
  if (!ids.ok()) return ids.error();
  auto prompt = harmony::prompt_text(tok, *ids);
  if (!prompt.ok()) return prompt.error();
  Json out = Json::object();
  out["prompt"] = std::move(*prompt);
  out["ids"] = *ids;
  return out;
}

}  // namespace quarry::cli
