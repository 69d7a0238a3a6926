#include "api/constraints.h"

#include "grammar/turn_constraint.h"

namespace quarry::api {
namespace {

using grammar::Schema;
using grammar::TurnSpec;
using Json = nlohmann::ordered_json;

// "properties.a.type: ..." under `param`; root errors read "schema: ...".
ApiError schema_error(const std::string& param, const std::string& message) {
  const std::string path =
      message.rfind("schema: ", 0) == 0 ? param + message.substr(6) : param + "." + message;
  return invalid_from_path_message(path);
}

// The arguments schema of a tool: its parameters (compiled; a non-strict
// tool whose schema is beyond the supported subset falls back to any
// object), or `{}` for a tool without parameters.
std::optional<ApiError> tool_schema(const harmony::ChatTool& tool, size_t index,
                                    std::shared_ptr<const Schema>& out) {
  if (!tool.parameters) {
    out = Schema::compile(Json{{"type", "object"},
                               {"properties", Json::object()},
                               {"additionalProperties", false}})
              .value();
    return std::nullopt;
  }
  auto s = Schema::compile(*tool.parameters);
  if (s.ok()) {
    out = s.value();
    return std::nullopt;
  }
  if (!tool.strict) {
    out = Schema::any_object();
    return std::nullopt;
  }
  return schema_error("tools[" + std::to_string(index) + "].function.parameters", s.message());
}

}  // namespace

std::optional<ApiError> add_constraint(const harmony::ChatRequest& req, GenerationSpec& spec) {
  using harmony::ToolChoice;
  auto turn = std::make_shared<TurnSpec>();
  const bool forced =
      req.tool_choice == ToolChoice::kRequired || req.tool_choice == ToolChoice::kFunction;
  const bool strict_tools = std::any_of(req.tools.begin(), req.tools.end(),
                                        [](const harmony::ChatTool& t) { return t.strict; });
  const auto& rf = req.response_format;
  const bool json_final = rf.kind != harmony::ResponseFormatKind::kText;
  if (!forced && !strict_tools && !json_final) return std::nullopt;

  if (req.tool_choice != ToolChoice::kNone) {
    for (size_t i = 0; i < req.tools.size(); ++i) {
      const harmony::ChatTool& tool = req.tools[i];
      if (req.tool_choice == ToolChoice::kFunction && tool.name != req.tool_choice_name) continue;
      grammar::ToolSpec t;
      t.name = tool.name;
      if (auto err = tool_schema(tool, i, t.schema)) return err;
      turn->tools.push_back(std::move(t));
    }
  }
  if (!forced) {
    if (rf.kind == harmony::ResponseFormatKind::kJsonSchema) {
      auto s = Schema::compile(rf.schema);
      if (!s.ok()) return schema_error("response_format.json_schema.schema", s.message());
      turn->final = TurnSpec::Final::kJson;
      turn->final_schema = s.value();
    } else if (rf.kind == harmony::ResponseFormatKind::kJsonObject) {
      turn->final = TurnSpec::Final::kJson;
      turn->final_schema = Schema::any_object();
    } else {
      turn->final = TurnSpec::Final::kText;
    }
  }
  std::shared_ptr<const grammar::VocabIndex> vocab = spec.model->vocab_index();
  if (!vocab) return server_error("constrained decoding: the tokenizer lacks harmony tokens");
  std::shared_ptr<const TurnSpec> shared = std::move(turn);
  spec.make_processor = [vocab, shared](size_t max_tokens) -> engine::LogitsProcessor {
    auto c = std::make_shared<grammar::TurnConstraint>(vocab, shared, max_tokens);
    return [c](std::span<const int32_t> generated, std::span<float> logits) {
      (*c)(generated, logits);
    };
  };
  return std::nullopt;
}

}  // namespace quarry::api
