#include "harmony/chat_request.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <utility>

namespace quarry::harmony {
namespace {

using Json = nlohmann::ordered_json;

// A string value as it would appear in JSON, for error messages.
std::string json_quoted(const Json& v) {
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}
std::string json_quoted(const std::string& s) { return json_quoted(Json(s)); }

// The member `key` of object `obj`; nullptr when absent or null.
const Json* member(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Error wrong_type(const std::string& path, const char* expected, const Json& got) {
  return make_error(path + ": expected " + expected + ", got " + got.type_name());
}
Error missing(const std::string& path) { return make_error(path + ": missing"); }

std::string index_path(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// `content`: a string, or an array of {"type": "text", "text": "..."} parts
// (concatenated without separator). nullopt for an absent or null value.
Result<std::optional<std::string>> parse_content(const Json* v, const std::string& path) {
  if (v == nullptr) return std::optional<std::string>();
  if (v->is_string()) return std::optional<std::string>(v->get<std::string>());
  if (!v->is_array()) return wrong_type(path, "a string or an array of text parts", *v);
  std::string text;
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& part = (*v)[i];
    const std::string part_path = index_path(path, i);
    if (!part.is_object()) return wrong_type(part_path, "an object", part);
    if (const Json* type = member(part, "type")) {
      if (!type->is_string()) return wrong_type(part_path + ".type", "a string", *type);
      if (type->get<std::string>() != "text") {
        return make_error(part_path + ".type: unsupported content part type " + json_quoted(*type) +
                          " (only \"text\" is supported)");
      }
    }
    const Json* t = member(part, "text");
    if (t == nullptr) return missing(part_path + ".text");
    if (!t->is_string()) return wrong_type(part_path + ".text", "a string", *t);
    text += t->get<std::string>();
  }
  return std::optional<std::string>(std::move(text));
}

Result<ChatRole> parse_role(const Json& msg, const std::string& path) {
  const Json* role = member(msg, "role");
  if (role == nullptr) return missing(path + ".role");
  if (!role->is_string()) return wrong_type(path + ".role", "a string", *role);
  const std::string& r = role->get_ref<const std::string&>();
  if (r == "system") return ChatRole::kSystem;
  if (r == "developer") return ChatRole::kDeveloper;
  if (r == "user") return ChatRole::kUser;
  if (r == "assistant") return ChatRole::kAssistant;
  if (r == "tool") return ChatRole::kTool;
  return make_error(path + ".role: unknown role " + json_quoted(*role) +
                    " (expected system, developer, user, assistant or tool)");
}

Result<ChatToolCall> parse_tool_call(const Json& call, const std::string& path) {
  if (!call.is_object()) return wrong_type(path, "an object", call);
  if (const Json* type = member(call, "type")) {
    if (!type->is_string() || type->get<std::string>() != "function") {
      return make_error(path + ".type: unsupported tool call type " + json_quoted(*type) +
                        " (expected \"function\")");
    }
  }
  ChatToolCall out;
  const Json* id = member(call, "id");
  if (id == nullptr) return missing(path + ".id");
  if (!id->is_string()) return wrong_type(path + ".id", "a string", *id);
  out.id = id->get<std::string>();
  const Json* fn = member(call, "function");
  if (fn == nullptr) return missing(path + ".function");
  if (!fn->is_object()) return wrong_type(path + ".function", "an object", *fn);
  const Json* name = member(*fn, "name");
  if (name == nullptr) return missing(path + ".function.name");
  if (!name->is_string()) return wrong_type(path + ".function.name", "a string", *name);
  out.name = name->get<std::string>();
  if (out.name.empty()) return make_error(path + ".function.name: empty");
  // Arguments are a JSON string; an object (sent by some clients) is dumped
  // compactly; absent means no arguments.
  const Json* args = member(*fn, "arguments");
  if (args == nullptr) {
    out.arguments = "{}";
  } else if (args->is_string()) {
    out.arguments = args->get<std::string>();
  } else if (args->is_object()) {
    out.arguments = args->dump(-1, ' ', false, Json::error_handler_t::replace);
  } else {
    return wrong_type(path + ".function.arguments", "a string", *args);
  }
  return out;
}

// Tool call ids seen so far -> function name (a later call with the same id wins).
using CallNames = std::map<std::string, std::string, std::less<>>;

Result<ChatMessage> parse_message(const Json& msg, const std::string& path, CallNames& calls) {
  if (!msg.is_object()) return wrong_type(path, "an object", msg);
  auto role = parse_role(msg, path);
  if (!role.ok()) return role.error();
  ChatMessage out;
  out.role = *role;
  auto content = parse_content(member(msg, "content"), path + ".content");
  if (!content.ok()) return content.error();
  out.content = std::move(*content);

  if (out.role == ChatRole::kAssistant) {
    for (const char* key : {"reasoning", "reasoning_content"}) {
      const Json* r = member(msg, key);
      if (r == nullptr) continue;
      if (!r->is_string()) return wrong_type(path + "." + key, "a string", *r);
      if (!r->get_ref<const std::string&>().empty()) {
        out.reasoning = r->get<std::string>();
        break;
      }
    }
    if (const Json* tc = member(msg, "tool_calls")) {
      if (!tc->is_array()) return wrong_type(path + ".tool_calls", "an array", *tc);
      for (size_t i = 0; i < tc->size(); ++i) {
        auto call = parse_tool_call((*tc)[i], index_path(path + ".tool_calls", i));
        if (!call.ok()) return call.error();
        calls[call->id] = call->name;
        out.tool_calls.push_back(std::move(*call));
      }
    }
    if (!out.content && !out.reasoning && out.tool_calls.empty()) {
      return make_error(path + ": an assistant message needs content, reasoning or tool_calls");
    }
    return out;
  }

  if (!out.content) return missing(path + ".content");
  if (out.role == ChatRole::kTool) {
    const Json* id = member(msg, "tool_call_id");
    if (id == nullptr) return missing(path + ".tool_call_id");
    if (!id->is_string()) return wrong_type(path + ".tool_call_id", "a string", *id);
    out.tool_call_id = id->get<std::string>();
    auto it = calls.find(out.tool_call_id);
    if (it == calls.end()) {
      return make_error(path + ".tool_call_id: " + json_quoted(out.tool_call_id) +
                        " matches no earlier tool call");
    }
    out.tool_name = it->second;
  }
  return out;
}

Result<std::vector<ChatMessage>> parse_messages(const Json& body) {
  const Json* msgs = member(body, "messages");
  if (msgs == nullptr) return missing("messages");
  if (!msgs->is_array()) return wrong_type("messages", "an array", *msgs);
  if (msgs->empty()) return make_error("messages: empty (at least one message is required)");
  std::vector<ChatMessage> out;
  CallNames calls;
  for (size_t i = 0; i < msgs->size(); ++i) {
    auto m = parse_message((*msgs)[i], index_path("messages", i), calls);
    if (!m.ok()) return m.error();
    out.push_back(std::move(*m));
  }
  return out;
}

bool has_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

Result<ChatTool> parse_tool(const Json& tool, const std::string& path) {
  if (!tool.is_object()) return wrong_type(path, "an object", tool);
  if (const Json* type = member(tool, "type")) {
    if (!type->is_string() || type->get<std::string>() != "function") {
      return make_error(path + ".type: unsupported tool type " + json_quoted(*type) +
                        " (expected \"function\")");
    }
  }
  const Json* fn = member(tool, "function");
  if (fn == nullptr) return missing(path + ".function");
  if (!fn->is_object()) return wrong_type(path + ".function", "an object", *fn);
  ChatTool out;
  const Json* name = member(*fn, "name");
  if (name == nullptr) return missing(path + ".function.name");
  if (!name->is_string()) return wrong_type(path + ".function.name", "a string", *name);
  out.name = name->get<std::string>();
  // The name becomes part of a message header (` to=functions.NAME`), which
  // whitespace would break.
  if (out.name.empty()) return make_error(path + ".function.name: empty");
  if (has_space(out.name)) {
    return make_error(path + ".function.name: " + json_quoted(out.name) + " contains whitespace");
  }
  if (const Json* desc = member(*fn, "description")) {
    if (!desc->is_string()) return wrong_type(path + ".function.description", "a string", *desc);
    out.description = desc->get<std::string>();
  }
  if (const Json* params = member(*fn, "parameters")) {
    if (!params->is_object()) {
      return wrong_type(path + ".function.parameters", "an object (a JSON schema)", *params);
    }
    out.parameters = *params;
  }
  if (const Json* strict = member(*fn, "strict"); strict != nullptr && !strict->is_null()) {
    if (!strict->is_boolean()) return wrong_type(path + ".function.strict", "a boolean", *strict);
    out.strict = strict->get<bool>();
  }
  return out;
}

Result<std::vector<ChatTool>> parse_tools(const Json& body) {
  std::vector<ChatTool> out;
  const Json* tools = member(body, "tools");
  if (tools == nullptr) return out;
  if (!tools->is_array()) return wrong_type("tools", "an array", *tools);
  for (size_t i = 0; i < tools->size(); ++i) {
    const std::string path = index_path("tools", i);
    auto t = parse_tool((*tools)[i], path);
    if (!t.ok()) return t.error();
    for (const ChatTool& prev : out) {
      if (prev.name == t->name) {
        return make_error(path + ".function.name: duplicate tool name " + json_quoted(t->name));
      }
    }
    out.push_back(std::move(*t));
  }
  return out;
}

Status parse_tool_choice(const Json& body, ChatRequest& req) {
  const Json* tc = member(body, "tool_choice");
  if (tc == nullptr) return Status::Ok();
  if (tc->is_string()) {
    const std::string& s = tc->get_ref<const std::string&>();
    if (s == "auto") {
      req.tool_choice = ToolChoice::kAuto;
    } else if (s == "none") {
      req.tool_choice = ToolChoice::kNone;
    } else if (s == "required") {
      req.tool_choice = ToolChoice::kRequired;
    } else {
      return make_error("tool_choice: unknown value " + json_quoted(*tc) +
                        " (expected \"auto\", \"none\", \"required\" or a function object)");
    }
  } else if (tc->is_object()) {
    const Json* type = member(*tc, "type");
    if (type != nullptr && (!type->is_string() || type->get<std::string>() != "function")) {
      return make_error("tool_choice.type: unsupported type " + json_quoted(*type) +
                        " (expected \"function\")");
    }
    const Json* fn = member(*tc, "function");
    if (fn == nullptr) return missing("tool_choice.function");
    if (!fn->is_object()) return wrong_type("tool_choice.function", "an object", *fn);
    const Json* name = member(*fn, "name");
    if (name == nullptr) return missing("tool_choice.function.name");
    if (!name->is_string()) return wrong_type("tool_choice.function.name", "a string", *name);
    req.tool_choice = ToolChoice::kFunction;
    req.tool_choice_name = name->get<std::string>();
    bool known = std::any_of(req.tools.begin(), req.tools.end(),
                             [&](const ChatTool& t) { return t.name == req.tool_choice_name; });
    if (!known) {
      return make_error("tool_choice.function.name: " + json_quoted(req.tool_choice_name) +
                        " is not one of the request's tools");
    }
  } else {
    return wrong_type("tool_choice", "a string or an object", *tc);
  }
  if (req.tool_choice == ToolChoice::kRequired && req.tools.empty()) {
    return make_error("tool_choice: \"required\" but the request has no tools");
  }
  return Status::Ok();
}

Result<ReasoningEffort> parse_effort(const Json& body) {
  const Json* e = member(body, "reasoning_effort");
  if (e == nullptr) return ReasoningEffort::kMedium;
  if (!e->is_string()) return wrong_type("reasoning_effort", "a string", *e);
  const std::string& s = e->get_ref<const std::string&>();
  if (s == "low") return ReasoningEffort::kLow;
  if (s == "medium") return ReasoningEffort::kMedium;
  if (s == "high") return ReasoningEffort::kHigh;
  return make_error("reasoning_effort: unknown value " + json_quoted(*e) +
                    " (expected \"low\", \"medium\" or \"high\")");
}

Result<ResponseFormat> parse_response_format(const Json& body) {
  ResponseFormat out;
  const Json* rf = member(body, "response_format");
  if (rf == nullptr) return out;
  const Json* type = rf;  // the short form "text" / "json_object"
  if (rf->is_object()) {
    type = member(*rf, "type");
    if (type == nullptr) return missing("response_format.type");
  } else if (!rf->is_string()) {
    return wrong_type("response_format", "an object", *rf);
  }
  if (!type->is_string()) return wrong_type("response_format.type", "a string", *type);
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "text") return out;
  if (t == "json_object") {
    out.kind = ResponseFormatKind::kJsonObject;
    return out;
  }
  if (t != "json_schema" || !rf->is_object()) {
    return make_error("response_format.type: unknown value " + json_quoted(*type) +
                      " (expected \"text\", \"json_object\" or \"json_schema\")");
  }
  out.kind = ResponseFormatKind::kJsonSchema;
  const Json* js = member(*rf, "json_schema");
  if (js == nullptr) return missing("response_format.json_schema");
  if (!js->is_object()) return wrong_type("response_format.json_schema", "an object", *js);
  const Json* name = member(*js, "name");
  if (name == nullptr) return missing("response_format.json_schema.name");
  if (!name->is_string()) return wrong_type("response_format.json_schema.name", "a string", *name);
  out.name = name->get<std::string>();
  if (out.name.empty()) return make_error("response_format.json_schema.name: empty");
  if (const Json* d = member(*js, "description")) {
    if (!d->is_string())
      return wrong_type("response_format.json_schema.description", "a string", *d);
    out.description = d->get<std::string>();
  }
  out.schema = Json::object();
  if (const Json* s = member(*js, "schema")) {
    if (!s->is_object()) return wrong_type("response_format.json_schema.schema", "an object", *s);
    out.schema = *s;
  }
  return out;
}

Result<std::vector<BuiltinTool>> parse_builtin_tools(const Json& body) {
  std::vector<BuiltinTool> out;
  const Json* bt = member(body, "builtin_tools");
  if (bt == nullptr) return out;
  if (!bt->is_array()) return wrong_type("builtin_tools", "an array", *bt);
  for (size_t i = 0; i < bt->size(); ++i) {
    const Json& v = (*bt)[i];
    const std::string path = index_path("builtin_tools", i);
    if (!v.is_string()) return wrong_type(path, "a string", v);
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "browser") {
      out.push_back(BuiltinTool::kBrowser);
    } else if (s == "python") {
      out.push_back(BuiltinTool::kPython);
    } else {
      return make_error(path + ": unknown built-in tool " + json_quoted(v) +
                        " (expected \"browser\" or \"python\")");
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<ChatRequest> parse_checked(const Json& body) {
  if (!body.is_object()) return wrong_type("request", "an object", body);
  ChatRequest req;
  auto messages = parse_messages(body);
  if (!messages.ok()) return messages.error();
  req.messages = std::move(*messages);
  auto tools = parse_tools(body);
  if (!tools.ok()) return tools.error();
  req.tools = std::move(*tools);
  if (Status s = parse_tool_choice(body, req); !s.ok()) return make_error(s.message());
  auto effort = parse_effort(body);
  if (!effort.ok()) return effort.error();
  req.reasoning_effort = *effort;
  auto rf = parse_response_format(body);
  if (!rf.ok()) return rf.error();
  req.response_format = std::move(*rf);
  auto builtin = parse_builtin_tools(body);
  if (!builtin.ok()) return builtin.error();
  req.builtin_tools = std::move(*builtin);
  return req;
}

}  // namespace

const char* role_name(ChatRole role) {
  switch (role) {
    case ChatRole::kSystem:
      return "system";
    case ChatRole::kDeveloper:
      return "developer";
    case ChatRole::kUser:
      return "user";
    case ChatRole::kAssistant:
      return "assistant";
    case ChatRole::kTool:
      return "tool";
  }
  return "?";
}

const char* effort_name(ReasoningEffort effort) {
  switch (effort) {
    case ReasoningEffort::kLow:
      return "low";
    case ReasoningEffort::kMedium:
      return "medium";
    case ReasoningEffort::kHigh:
      return "high";
  }
  return "medium";
}

Result<ChatRequest> parse_chat_request(const nlohmann::ordered_json& body) {
  // Every access above is type-checked; the catch is a backstop so that a
  // malformed body can never escape as an exception.
  try {
    return parse_checked(body);
  } catch (const std::exception& e) {
    return make_error(std::string("request: invalid (") + e.what() + ")");
  }
}

}  // namespace quarry::harmony
