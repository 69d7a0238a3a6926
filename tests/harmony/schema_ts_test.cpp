// JSON schema -> TypeScript-like text, edge cases of openai/harmony v0.0.8's
// layout (expected strings derived from its renderer's rules).
#include <gtest/gtest.h>

#include "harmony/builtin_tools.h"
#include "harmony/schema_ts.h"
#include "harmony/tool_namespace.h"

namespace quarry::harmony {
namespace {

using Json = nlohmann::ordered_json;

std::string ts(const char* schema) { return json_schema_to_typescript(Json::parse(schema)); }

TEST(SchemaTs, Scalars) {
  EXPECT_EQ(ts(R"({"type": "string"})"), "string");
  EXPECT_EQ(ts(R"({"type": "integer"})"), "number");
  EXPECT_EQ(ts(R"({"type": "number"})"), "number");
  EXPECT_EQ(ts(R"({"type": "boolean"})"), "boolean");
  EXPECT_EQ(ts(R"({"type": "null"})"), "any");
  EXPECT_EQ(ts(R"({})"), "any");
  EXPECT_EQ(ts(R"(true)"), "any");
  EXPECT_EQ(ts(R"({"type": 7})"), "any");
  EXPECT_EQ(ts(R"({"type": "string", "enum": ["a", 1, "b"]})"), R"("a" | "b")");
  EXPECT_EQ(ts(R"({"type": "string", "enum": [1]})"), "string");
}

TEST(SchemaTs, TypeListsAndArrays) {
  EXPECT_EQ(ts(R"({"type": ["integer", "null"]})"), "number | null");
  EXPECT_EQ(ts(R"({"type": [1, 2]})"), "any");
  EXPECT_EQ(ts(R"({"type": "array"})"), "Array<any>");
  EXPECT_EQ(ts(R"({"type": "array", "items": null})"), "any[]");
  EXPECT_EQ(ts(R"({"type": "array", "items": {"type": "array", "items": {"type": "integer"}}})"),
            "number[][]");
}

TEST(SchemaTs, Objects) {
  EXPECT_EQ(ts(R"({"type": "object"})"), "{\n}");
  EXPECT_EQ(ts(R"({"type": "object", "description": "D", "properties": {}})"), "// D\n{\n}");
  EXPECT_EQ(ts(R"({"type": "object", "properties": {
                 "z": {"type": "string"}, "a": {"type": "integer", "default": 5}},
                 "required": ["z"]})"),
            "{\nz: string,\na?: number, // default: 5\n}");
  // Title, description and string examples as comments above the property.
  EXPECT_EQ(ts(R"({"type": "object", "properties": {"q": {"type": "string", "title": "Query",
                 "description": "What", "examples": ["a", 1, "b"]}}})"),
            "{\n// Query\n//\n// What\n// Examples:\n// - \"a\"\n// - \"b\"\nq?: string,\n}");
  // nullable adds "| null" only once.
  EXPECT_EQ(ts(R"({"type": "object", "properties": {
                 "n": {"type": ["string", "null"], "nullable": true},
                 "m": {"type": "integer", "nullable": true}}})"),
            "{\nn?: string | null,\nm?: number | null,\n}");
  // Defaults: quoted for plain strings, bare for enums, JSON otherwise.
  EXPECT_EQ(ts(R"({"type": "object", "properties": {
                 "s": {"type": "string", "default": "x y"},
                 "e": {"type": "string", "enum": ["c", "f"], "default": "c"},
                 "l": {"type": "array", "items": {"type": "number"}, "default": [1, 0.5]},
                 "o": {"default": {"k": null}}}})"),
            "{\ns?: string, // default: \"x y\"\ne?: \"c\" | \"f\", // default: c\n"
            "l?: number[], // default: [1,0.5]\no?: any, // default: {\"k\":null}\n}");
}

TEST(SchemaTs, NestedObjectLayout) {
  // The library's own (odd) layout: the nested description appears twice and
  // the nested closing brace is indented.
  EXPECT_EQ(ts(R"({"type": "object", "properties": {"c": {"type": "object",
                 "description": "Who.", "properties": {"id": {"type": "string"}}}}})"),
            "{\n// Who.\nc?:     // Who.\n{\n    id?: string,\n    },\n}");
}

TEST(SchemaTs, TopLevelOneOf) {
  EXPECT_EQ(ts(R"({"oneOf": [{"type": "string", "description": "a name"},
                             {"type": "number", "default": 3, "nullable": true}]})"),
            "\n | string // a name\n | number | null // default: 3");
  // An enum's string default is written as JSON on this path.
  EXPECT_EQ(ts(R"({"oneOf": [{"type": "string", "enum": ["a", "b"], "default": "a"}]})"),
            "\n | \"a\" | \"b\" // default: \"a\"");
  EXPECT_EQ(ts(R"({"oneOf": [{"type": "object", "properties": {"a": {"type": "string"}}}]})"),
            "\n | {\n   a?: string,\n   }");
  EXPECT_EQ(ts(R"({"oneOf": 5})"), "any");
}

TEST(SchemaTs, PropertyOneOf) {
  // Property description equal to the first variant's: shown once, on no line.
  EXPECT_EQ(ts(R"({"type": "object", "required": ["v"], "properties": {"v": {
                 "description": "D", "default": "x", "oneOf": [
                   {"type": "string", "description": "D"},
                   {"type": "integer", "description": "E", "enum": [1]}]}}})"),
            "{\n// default: \"x\"\nv:\n | string\n | number // E\n,\n}");
  // Different description: above the name; the first variant's own is dropped.
  EXPECT_EQ(
      ts(R"({"type": "object", "properties": {"v": {"description": "P", "oneOf": [
                   {"type": "string", "description": "S"},
                   {"type": "boolean", "description": "B", "default": false},
                   {"type": "string", "enum": ["u"], "default": "u"}]}}})"),
      "{\n// P\nv?:\n | string\n | boolean // B default: false\n | \"u\" // default: u\n,\n}");
  // An enum property's string default above the name is bare.
  EXPECT_EQ(ts(R"({"type": "object", "properties": {"u": {"enum": ["c", "f"], "default": "c",
                 "oneOf": [{"type": "string"}]}}})"),
            "{\n// default: c\nu?:\n | string\n,\n}");
  // A non-array oneOf hides the description and default, then renders normally.
  EXPECT_EQ(ts(R"({"type": "object", "properties": {"p": {"type": "string", "oneOf": 5,
                 "description": "D", "default": "x"}}})"),
            "{\np?: string,\n}");
}

TEST(SchemaTs, DeepNestingDoesNotCrash) {
  std::string schema;
  for (int i = 0; i < 5000; ++i) schema += R"({"type": "array", "items": )";
  schema += "{}";
  for (int i = 0; i < 5000; ++i) schema += "}";
  const std::string text = ts(schema.c_str());
  EXPECT_EQ(text.substr(0, 3), "any");
  EXPECT_EQ(text.substr(text.size() - 2), "[]");
}

TEST(SchemaTs, JsonCompactMatchesSerdeJson) {
  EXPECT_EQ(json_compact(Json(0.5)), "0.5");
  EXPECT_EQ(json_compact(Json(100.0)), "100.0");
  EXPECT_EQ(json_compact(Json(-0.0)), "-0.0");
  EXPECT_EQ(json_compact(Json(1e-7)), "1e-7");
  EXPECT_EQ(json_compact(Json(1.5e-7)), "1.5e-7");
  EXPECT_EQ(json_compact(Json(1e-5)), "0.00001");
  EXPECT_EQ(json_compact(Json(1e15)), "1000000000000000.0");
  EXPECT_EQ(json_compact(Json(1e16)), "1e16");
  EXPECT_EQ(json_compact(Json(1.5e300)), "1.5e300");
  EXPECT_EQ(json_compact(Json(-1)), "-1");
  EXPECT_EQ(json_compact(Json::parse(R"({"b": [1.0, "x\n", null], "a": true})")),
            R"({"b":[1.0,"x\n",null],"a":true})");
}

TEST(ToolNamespace, SplitLinesLikeRust) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split_lines(""), V{});
  EXPECT_EQ(split_lines("\n"), V{""});
  EXPECT_EQ(split_lines("a\r\n\nb\n"), (V{"a", "", "b"}));
  EXPECT_EQ(split_lines("a\rb"), V{"a\rb"});
}

TEST(ToolNamespace, FunctionsSection) {
  ToolNamespace ns;
  ns.name = "functions";
  ns.tools.push_back({"f", "", std::nullopt});
  ns.tools.push_back({"g", "line 1\r\n\nline 3", Json::parse(R"({"type": "object"})")});
  EXPECT_EQ(render_tools_section(std::span<const ToolNamespace>(&ns, 1)),
            "# Tools\n\n## functions\n\nnamespace functions {\n\ntype f = () => any;\n\n"
            "// line 1\n// \n// line 3\ntype g = (_: {\n}) => any;\n\n} // namespace functions");
}

TEST(ToolNamespace, BuiltinsParseAndSortByName) {
  const ToolNamespace namespaces[] = {python_tool_namespace(), browser_tool_namespace()};
  const std::string text = render_tools_section(namespaces);
  EXPECT_EQ(text.rfind("# Tools\n\n## browser\n\n// Tool for browsing.\n", 0), 0u);
  EXPECT_NE(text.find("} // namespace browser\n\n## python\n\nUse this tool"), std::string::npos);
  for (const ToolDescription& t : browser_tool_namespace().tools) {
    ASSERT_TRUE(t.parameters.has_value());
    EXPECT_TRUE(t.parameters->is_object()) << t.name;
  }
}

}  // namespace
}  // namespace quarry::harmony
