#include "harmony/prompt_messages.h"

#include "base/strings.h"
#include "harmony/builtin_tools.h"
#include "harmony/schema_ts.h"
#include "harmony/tool_namespace.h"

namespace quarry::harmony {
namespace {

constexpr std::string_view kChannelsLine =
    "# Valid channels: analysis, commentary, final. Channel must be included for every message.";
constexpr std::string_view kFunctionsChannelLine =
    "Calls to these tools must go to the commentary channel: 'functions'.";

// "# Response Formats" (OpenAI's format guide; the library has no API for it).
// `json_object` gets a generic object schema so the model still sees the ask.
std::string response_format_section(const ResponseFormat& rf) {
  std::string name = rf.name;
  std::string description = rf.description;
  std::string schema;
  if (rf.kind == ResponseFormatKind::kJsonObject) {
    name = "json_object";
    description = "Respond with a single JSON object.";
    schema = "{\"type\":\"object\"}";
  } else {
    schema = rf.schema.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  std::string out = "# Response Formats\n\n## " + name + "\n\n";
  for (std::string_view line : split_lines(description)) out += "// " + std::string(line) + "\n";
  return out + schema;
}

PromptMessage message(std::string author, std::string channel, std::string content) {
  PromptMessage m;
  m.author = std::move(author);
  m.channel = std::move(channel);
  m.content = std::move(content);
  return m;
}

// Appends the harmony messages of one chat message after the leading
// instructions (§8 items 2, 4, 5, 6).
void append_chat_message(const ChatMessage& msg, std::vector<PromptMessage>& out) {
  const std::string content = msg.content.value_or("");
  switch (msg.role) {
    case ChatRole::kSystem:
    case ChatRole::kDeveloper:
      out.push_back(message("developer", "", content));
      return;
    case ChatRole::kUser:
      out.push_back(message("user", "", content));
      return;
    case ChatRole::kTool: {
      PromptMessage m = message("functions." + msg.tool_name, "commentary", content);
      m.recipient = "assistant";
      out.push_back(std::move(m));
      return;
    }
    case ChatRole::kAssistant:
      break;
  }
  if (msg.reasoning) out.push_back(message("assistant", "analysis", *msg.reasoning));
  if (msg.tool_calls.empty()) {
    if (msg.content) out.push_back(message("assistant", "final", content));
    return;
  }
  if (!content.empty()) out.push_back(message("assistant", "commentary", content));  // preamble
  for (const ChatToolCall& call : msg.tool_calls) {
    PromptMessage m = message("assistant", "commentary", call.arguments);
    m.recipient = "functions." + call.name;
    m.content_type = "<|constrain|>json";
    out.push_back(std::move(m));
  }
}

// §7: an assistant analysis message survives only if no assistant final
// message follows it.
void drop_stale_analysis(std::vector<PromptMessage>& messages) {
  bool final_follows = false;
  std::vector<PromptMessage> kept;
  for (size_t i = messages.size(); i-- > 0;) {
    PromptMessage& m = messages[i];
    if (m.author == "assistant" && m.channel == "final") final_follows = true;
    if (m.author == "assistant" && m.channel == "analysis" && final_follows) continue;
    kept.push_back(std::move(m));
  }
  messages.assign(std::make_move_iterator(kept.rbegin()), std::make_move_iterator(kept.rend()));
}

}  // namespace

bool declares_function_tools(const ChatRequest& request) {
  return !request.tools.empty() && request.tool_choice != ToolChoice::kNone;
}

std::string system_message_text(const ChatRequest& request, std::string_view current_date,
                                bool has_function_tools) {
  std::string top =
      std::string(kModelIdentity) + "\nKnowledge cutoff: " + std::string(kKnowledgeCutoff);
  if (!current_date.empty()) top += "\nCurrent date: " + std::string(current_date);
  std::vector<std::string> sections{
      top, "Reasoning: " + std::string(effort_name(request.reasoning_effort))};
  if (!request.builtin_tools.empty()) {
    std::vector<ToolNamespace> namespaces;
    for (BuiltinTool t : request.builtin_tools) {
      namespaces.push_back(t == BuiltinTool::kBrowser ? browser_tool_namespace()
                                                      : python_tool_namespace());
    }
    sections.push_back(render_tools_section(namespaces));
  }
  std::string channels(kChannelsLine);
  if (has_function_tools) channels += "\n" + std::string(kFunctionsChannelLine);
  sections.push_back(channels);
  return join(sections, "\n\n");
}

std::string developer_message_text(const std::string& instructions, const ChatRequest& request) {
  std::vector<std::string> sections;
  if (!instructions.empty()) {
    sections.push_back("# Instructions");
    sections.push_back(instructions);
  }
  if (declares_function_tools(request)) {
    ToolNamespace functions;
    functions.name = "functions";
    for (const ChatTool& tool : request.tools) {
      functions.tools.push_back({tool.name, tool.description, tool.parameters});
    }
    sections.push_back(render_tools_section(std::span<const ToolNamespace>(&functions, 1)));
  }
  if (request.response_format.kind != ResponseFormatKind::kText) {
    sections.push_back(response_format_section(request.response_format));
  }
  return join(sections, "\n\n");
}

std::vector<PromptMessage> build_prompt_messages(const ChatRequest& request,
                                                 std::string_view current_date) {
  std::vector<PromptMessage> out;
  out.push_back(message(
      "system", "", system_message_text(request, current_date, declares_function_tools(request))));

  // Leading system/developer messages become the developer instructions.
  size_t first = 0;
  std::vector<std::string> instructions;
  for (; first < request.messages.size(); ++first) {
    const ChatMessage& m = request.messages[first];
    if (m.role != ChatRole::kSystem && m.role != ChatRole::kDeveloper) break;
    if (m.content && !m.content->empty()) instructions.push_back(*m.content);
  }
  std::string developer = developer_message_text(join(instructions, "\n\n"), request);
  if (!developer.empty()) out.push_back(message("developer", "", std::move(developer)));

  std::vector<PromptMessage> conversation;
  for (size_t i = first; i < request.messages.size(); ++i) {
    append_chat_message(request.messages[i], conversation);
  }
  drop_stale_analysis(conversation);
  for (PromptMessage& m : conversation) out.push_back(std::move(m));
  return out;
}

}  // namespace quarry::harmony
