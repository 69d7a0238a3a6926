#include "harmony/tool_namespace.h"

#include <algorithm>

#include "harmony/schema_ts.h"

namespace quarry::harmony {
namespace {

std::string render_namespace(const ToolNamespace& ns) {
  std::vector<std::string> parts;
  parts.push_back("## " + ns.name + "\n");
  if (ns.description) {
    for (std::string_view line : split_lines(*ns.description)) {
      parts.push_back((ns.tools.empty() ? "" : "// ") + std::string(line));
    }
  }
  if (!ns.tools.empty()) {
    parts.push_back("namespace " + ns.name + " {\n");
    for (const ToolDescription& tool : ns.tools) {
      for (std::string_view line : split_lines(tool.description)) {
        parts.push_back("// " + std::string(line));
      }
      if (tool.parameters) {
        parts.push_back("type " + tool.name +
                        " = (_: " + json_schema_to_typescript(*tool.parameters) + ") => any;\n");
      } else {
        parts.push_back("type " + tool.name + " = () => any;\n");
      }
    }
    parts.push_back("} // namespace " + ns.name);
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '\n';
    out += parts[i];
  }
  return out;
}

}  // namespace

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(pos));
      break;
    }
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = nl + 1;
  }
  return lines;
}

std::string render_tools_section(std::span<const ToolNamespace> namespaces) {
  std::vector<const ToolNamespace*> sorted;
  for (const ToolNamespace& ns : namespaces) sorted.push_back(&ns);
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const ToolNamespace* a, const ToolNamespace* b) { return a->name < b->name; });
  std::string out = "# Tools";
  for (const ToolNamespace* ns : sorted) out += "\n\n" + render_namespace(*ns);
  return out;
}

}  // namespace quarry::harmony
