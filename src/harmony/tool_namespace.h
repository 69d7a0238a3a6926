// Tool namespaces and the `# Tools` section that declares them, as in
// openai/harmony v0.0.8: built-in tools (browser, python) go into the system
// message, function tools (namespace `functions`) into the developer message.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace quarry::harmony {

struct ToolDescription {
  std::string name;
  std::string description;
  // Absent: the tool takes no arguments (`type NAME = () => any;`).
  std::optional<nlohmann::ordered_json> parameters;
};

struct ToolNamespace {
  std::string name;
  std::optional<std::string> description;
  std::vector<ToolDescription> tools;
};

// "# Tools" followed by one "## NAME" block per namespace, in alphabetical
// order of name, separated by blank lines. A namespace with tools gets its
// description as `// ` comments and a `namespace NAME { ... }` block; one
// without tools gets its description as plain text.
std::string render_tools_section(std::span<const ToolNamespace> namespaces);

// Splits at "\n" and "\r\n" the way Rust's str::lines does: no empty last line
// for a trailing newline, no lines at all for "".
std::vector<std::string_view> split_lines(std::string_view text);

}  // namespace quarry::harmony
