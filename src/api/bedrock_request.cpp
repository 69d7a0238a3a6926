#include "api/bedrock_request.h"

#include <string>

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

const char* const kUnsupportedBlocks[] = {
    "image", "document", "video", "audio", "searchResult", "citationsContent", "guardContent"};

// The text of a toolResult's content: text blocks as they are, json blocks dumped.
std::optional<std::string> tool_result_text(const Json& content) {
  if (!content.is_array()) return std::nullopt;
  std::string out;
  for (const Json& c : content) {
    if (!c.is_object()) return std::nullopt;
    if (c.contains("text") && c["text"].is_string()) {
      out += c["text"].get<std::string>();
    } else if (c.contains("json")) {
      out += c["json"].dump();
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<AwsError> convert_message(const Json& m, size_t i, Json& messages) {
  const std::string at = "messages." + std::to_string(i + 1);
  if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
    return aws_validation("1 validation error detected: Value at '" + at +
                          ".role' failed to satisfy constraint: Member must not be null");
  }
  const std::string role = m["role"].get<std::string>();
  if (!m.contains("content") || !m["content"].is_array() || m["content"].empty()) {
    return aws_validation("1 validation error detected: Value at '" + at +
                          ".content' failed to satisfy constraint: Member must have length "
                          "greater than or equal to 1");
  }
  std::string text, reasoning;
  Json calls = Json::array();
  for (const Json& block : m["content"]) {
    if (!block.is_object()) return aws_validation("Each content block must be an object.");
    for (const char* kind : kUnsupportedBlocks) {
      if (block.contains(kind)) {
        return aws_validation(std::string("This model doesn't support the ") + kind +
                              " content block.");
      }
    }
    if (block.contains("text")) {
      if (!block["text"].is_string()) return aws_validation("A text block must be a string.");
      text += block["text"].get<std::string>();
    } else if (block.contains("toolUse")) {
      const Json& u = block["toolUse"];
      if (role != "assistant" || !u.is_object() || !u.contains("toolUseId") ||
          !u.contains("name")) {
        return aws_validation("A toolUse block needs toolUseId and name, in an assistant turn.");
      }
      const Json input = u.value("input", Json::object());
      calls.push_back(Json{{"id", u["toolUseId"]},
                           {"type", "function"},
                           {"function", Json{{"name", u["name"]}, {"arguments", input.dump()}}}});
    } else if (block.contains("toolResult")) {
      const Json& r = block["toolResult"];
      if (role != "user" || !r.is_object() || !r.contains("toolUseId")) {
        return aws_validation("A toolResult block needs a toolUseId, in a user turn.");
      }
      auto content = tool_result_text(r.value("content", Json::array()));
      if (!content) return aws_validation("toolResult content must be text or json blocks.");
      messages.push_back(
          Json{{"role", "tool"}, {"tool_call_id", r["toolUseId"]}, {"content", *content}});
    } else if (block.contains("reasoningContent")) {
      const Json& rc = block["reasoningContent"];
      if (rc.is_object() && rc.contains("reasoningText") && rc["reasoningText"].is_object()) {
        reasoning += rc["reasoningText"].value("text", std::string());
      }
    } else if (block.contains("cachePoint")) {
      // Prompt caching is automatic (prefix cache); the marker needs nothing.
    } else {
      return aws_validation("The content block at " + at + " has no supported member.");
    }
  }
  if (role == "assistant") {
    Json a{{"role", "assistant"},
           {"content", text.empty() && !calls.empty() ? Json() : Json(text)}};
    if (!reasoning.empty()) a["reasoning"] = reasoning;
    if (!calls.empty()) a["tool_calls"] = std::move(calls);
    messages.push_back(std::move(a));
  } else if (role == "user") {
    if (!text.empty()) messages.push_back(Json{{"role", "user"}, {"content", text}});
  } else if (role == "system") {
    messages.push_back(Json{{"role", "developer"}, {"content", text}});
  } else {
    return aws_validation("1 validation error detected: Value '" + role + "' at '" + at +
                          ".role' failed to satisfy constraint: Member must satisfy enum value "
                          "set: [user, assistant]");
  }
  return std::nullopt;
}

std::optional<AwsError> convert_tools(const Json& config, Json& chat) {
  if (!config.is_object() || !config.contains("tools") || !config["tools"].is_array() ||
      config["tools"].empty()) {
    return aws_validation("toolConfig.tools must hold at least one tool.");
  }
  Json tools = Json::array();
  for (const Json& t : config["tools"]) {
    if (t.contains("cachePoint")) continue;
    if (t.contains("systemTool")) return aws_validation("This model doesn't support system tools.");
    const Json spec = t.value("toolSpec", Json());
    if (!spec.is_object() || !spec.contains("name") || !spec["name"].is_string()) {
      return aws_validation("Each tool needs a toolSpec with a name.");
    }
    Json fn{{"name", spec["name"]}};
    if (spec.contains("description")) fn["description"] = spec["description"];
    if (spec.contains("inputSchema") && spec["inputSchema"].is_object() &&
        spec["inputSchema"].contains("json")) {
      fn["parameters"] = spec["inputSchema"]["json"];
    }
    if (spec.contains("strict")) fn["strict"] = spec["strict"];
    tools.push_back(Json{{"type", "function"}, {"function", std::move(fn)}});
  }
  chat["tools"] = std::move(tools);
  if (config.contains("toolChoice") && config["toolChoice"].is_object()) {
    const Json& c = config["toolChoice"];
    if (c.contains("any")) {
      chat["tool_choice"] = "required";
    } else if (c.contains("tool") && c["tool"].is_object()) {
      chat["tool_choice"] =
          Json{{"type", "function"}, {"function", Json{{"name", c["tool"].value("name", "")}}}};
    } else {
      chat["tool_choice"] = "auto";
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<AwsError> converse_to_chat(const Json& body, Json& chat) {
  if (!body.is_object()) return aws_validation("The request body must be a JSON object.");
  if (body.contains("guardrailConfig")) {
    return aws_validation("Guardrails are not supported by this server.");
  }
  if (body.contains("promptVariables")) {
    return aws_validation("promptVariables are only valid with prompt management resources.");
  }
  Json messages = Json::array();
  if (body.contains("system")) {
    if (!body["system"].is_array()) return aws_validation("system must be a list of blocks.");
    std::string text;
    for (const Json& b : body["system"]) {
      if (b.is_object() && b.contains("text") && b["text"].is_string()) {
        if (!text.empty()) text += "\n";
        text += b["text"].get<std::string>();
      }
    }
    if (!text.empty()) messages.push_back(Json{{"role", "developer"}, {"content", text}});
  }
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    return aws_validation(
        "A conversation must start with a user message. Try again with a conversation that "
        "starts with a user message.");
  }
  const Json& in = body["messages"];
  for (size_t i = 0; i < in.size(); ++i) {
    const std::string role = in[i].is_object() ? in[i].value("role", std::string()) : "";
    if (i == 0 && role != "user") {
      return aws_validation(
          "A conversation must start with a user message. Try again with a conversation that "
          "starts with a user message.");
    }
    if (i > 0 && role == in[i - 1].value("role", std::string())) {
      return aws_validation(
          "A conversation must alternate between user and assistant roles. Make sure the "
          "conversation alternates between user and assistant roles and try again.");
    }
    if (auto err = convert_message(in[i], i, messages)) return err;
  }
  chat["messages"] = std::move(messages);

  if (body.contains("inferenceConfig")) {
    const Json& ic = body["inferenceConfig"];
    if (!ic.is_object()) return aws_validation("inferenceConfig must be an object.");
    if (ic.contains("maxTokens")) chat["max_completion_tokens"] = ic["maxTokens"];
    if (ic.contains("temperature")) chat["temperature"] = ic["temperature"];
    if (ic.contains("topP")) chat["top_p"] = ic["topP"];
    if (ic.contains("stopSequences")) chat["stop"] = ic["stopSequences"];
  }
  if (body.contains("toolConfig")) {
    if (auto err = convert_tools(body["toolConfig"], chat)) return err;
  }
  if (body.contains("outputConfig") && body["outputConfig"].is_object()) {
    const Json tf = body["outputConfig"].value("textFormat", Json());
    if (tf.is_object() && tf.value("type", "") == "json_schema") {
      const Json js = tf.value("structure", Json::object()).value("jsonSchema", Json::object());
      Json schema;
      try {
        schema = js.contains("schema") && js["schema"].is_string()
                     ? Json::parse(js["schema"].get<std::string>())
                     : js.value("schema", Json::object());
      } catch (const Json::parse_error&) {
        return aws_validation("outputConfig.textFormat.structure.jsonSchema.schema is not JSON.");
      }
      chat["response_format"] =
          Json{{"type", "json_schema"},
               {"json_schema", Json{{"name", js.value("name", "output")}, {"schema", schema}}}};
    }
  }
  if (body.contains("additionalModelRequestFields")) {
    const Json& extra = body["additionalModelRequestFields"];
    if (!extra.is_object())
      return aws_validation("additionalModelRequestFields must be an object.");
    for (auto it = extra.begin(); it != extra.end(); ++it) {
      if (it.key() == "messages" || it.key() == "model" || it.key() == "stream") continue;
      if (!chat.contains(it.key())) chat[it.key()] = it.value();
    }
  }
  return std::nullopt;
}

}  // namespace quarry::api
