// The built-in tools' declarations (system message). The texts must match
// what gpt-oss was trained with, i.e. openai/harmony v0.0.8
// (ToolNamespaceConfig::browser / ::python), byte for byte.
#include "harmony/builtin_tools.h"

namespace quarry::harmony {
namespace {

using Json = nlohmann::ordered_json;

Json schema(const char* text) { return Json::parse(text, nullptr, /*allow_exceptions=*/false); }

ToolNamespace make_browser() {
  ToolNamespace ns;
  ns.name = "browser";
  ns.description =
      "Tool for browsing.\n"
      "The `cursor` appears in brackets before each browsing display: `[{cursor}]`.\n"
      "Cite information from the tool using the following format:\n"
      "`\u3010{cursor}\u2020L{line_start}(-L{line_end})?\u3011`, for example: "
      "`\u30106\u2020L9-L11\u3011` or `\u30108\u2020L3\u3011`.\n"
      "Do not quote more than 10 words directly from the tool output.\n"
      "sources=web (default: web)";
  ns.tools.push_back({"search",
                      "Searches for information related to `query` and displays `topn` results.",
                      schema(R"({"type": "object",
                  "properties": {"query": {"type": "string"},
                                 "topn": {"type": "number", "default": 10},
                                 "source": {"type": "string"}},
                  "required": ["query"]})")});
  ns.tools.push_back(
      {"open",
       "Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, "
       "showing `num_lines` lines.\n"
       "Valid link ids are displayed with the formatting: `\u3010{id}\u2020.*\u3011`.\n"
       "If `cursor` is not provided, the most recent page is implied.\n"
       "If `id` is a string, it is treated as a fully qualified URL associated with `source`.\n"
       "If `loc` is not provided, the viewport will be positioned at the beginning of the "
       "document or centered on the most relevant passage, if available.\n"
       "Use this function without `id` to scroll to a new location of an opened page.",
       schema(R"({"type": "object",
                  "properties": {"id": {"type": ["number", "string"], "default": -1},
                                 "cursor": {"type": "number", "default": -1},
                                 "loc": {"type": "number", "default": -1},
                                 "num_lines": {"type": "number", "default": -1},
                                 "view_source": {"type": "boolean", "default": false},
                                 "source": {"type": "string"}}})")});
  ns.tools.push_back(
      {"find",
       "Finds exact matches of `pattern` in the current page, or the page given by `cursor`.",
       schema(R"({"type": "object",
                  "properties": {"pattern": {"type": "string"},
                                 "cursor": {"type": "number", "default": -1}},
                  "required": ["pattern"]})")});
  return ns;
}

ToolNamespace make_python() {
  ToolNamespace ns;
  ns.name = "python";
  ns.description =
      "Use this tool to execute Python code in your chain of thought. The code will not be shown "
      "to the user. This tool should be used for internal reasoning, but not for code that is "
      "intended to be visible to the user (e.g. when creating plots, tables, or files).\n"
      "\n"
      "When you send a message containing Python code to python, it will be executed in a "
      "stateful Jupyter notebook environment. python will respond with the output of the "
      "execution or time out after 120.0 seconds. The drive at '/mnt/data' can be used to save "
      "and persist user files. Internet access for this session is UNKNOWN. Depends on the "
      "cluster.";
  return ns;
}

}  // namespace

const ToolNamespace& browser_tool_namespace() {
  static const ToolNamespace ns = make_browser();
  return ns;
}

const ToolNamespace& python_tool_namespace() {
  static const ToolNamespace ns = make_python();
  return ns;
}

}  // namespace quarry::harmony
