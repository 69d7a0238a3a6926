#include "harmony/schema_ts.h"

#include <cstdlib>
#include <set>
#include <vector>

#include "base/strings.h"

namespace quarry::harmony {
namespace {

using Json = nlohmann::ordered_json;

// Nesting deeper than this renders as `any` (keeps hostile schemas from
// exhausting the stack; real tool schemas are a few levels deep).
constexpr int kMaxDepth = 64;

// `schema[key]` when `schema` is an object holding `key` (a JSON null counts
// as present, as with serde_json's `get`), else nullptr.
const Json* field(const Json& schema, const char* key) {
  if (!schema.is_object()) return nullptr;
  auto it = schema.find(key);
  return it == schema.end() ? nullptr : &*it;
}

// `schema[key]` when it is a string, else nullptr.
const std::string* string_field(const Json& schema, const char* key) {
  const Json* v = field(schema, key);
  return v != nullptr && v->is_string() ? &v->get_ref<const std::string&>() : nullptr;
}

bool is_enum(const Json& schema) {
  const Json* e = field(schema, "enum");
  return e != nullptr && e->is_array() && !e->empty();
}

bool is_nullable(const Json& schema) {
  const Json* n = field(schema, "nullable");
  return n != nullptr && n->is_boolean() && n->get<bool>();
}

// Appends " | null" unless the type text already mentions null.
void add_null_if_nullable(const Json& schema, std::string& type_text) {
  if (is_nullable(schema) && type_text.find("null") == std::string::npos) {
    type_text += " | null";
  }
}

// The text after "default: ". A string default is quoted (raw, unescaped)
// unless the schema is an enum; an enum's string default is shown bare, or
// as JSON when `enum_string_as_json` (the library's top-level oneOf path).
std::string default_text(const Json& value, const Json& schema, bool enum_string_as_json) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (!is_enum(schema)) return "\"" + s + "\"";
    if (!enum_string_as_json) return s;
  }
  return json_compact(value);
}

std::string render(const Json& schema, const std::string& indent, int depth);

// A schema whose top level is `oneOf`: one "\n{indent} | variant" line per
// variant, each with trailing comments.
std::string render_one_of(const Json& variants, const std::string& indent, int depth) {
  std::string out;
  for (const Json& variant : variants) {
    out += "\n" + indent + " | ";
    std::string type_text = render(variant, indent + "   ", depth + 1);
    add_null_if_nullable(variant, type_text);
    out += type_text;
    std::vector<std::string> comments;
    if (const std::string* desc = string_field(variant, "description")) comments.push_back(*desc);
    if (const Json* def = field(variant, "default")) {
      comments.push_back("default: " + default_text(*def, variant, /*enum_string_as_json=*/true));
    }
    if (!comments.empty()) out += " // " + join(comments, " ");
  }
  return out;
}

// A property whose schema has a `oneOf` array: comments above the name, then
// one " | variant" line per variant, then a lone ",".
void render_one_of_property(const std::string& key, const Json& prop, const Json& variants,
                            bool required, const std::string& indent, int depth, std::string& out) {
  const std::string* prop_desc = string_field(prop, "description");
  bool skip_desc = false;
  if (prop_desc != nullptr && !variants.empty()) {
    const std::string* first_desc = string_field(variants[0], "description");
    skip_desc = first_desc != nullptr && *first_desc == *prop_desc;
  }
  const bool desc_above = prop_desc != nullptr && !skip_desc;
  if (desc_above) out += indent + "// " + *prop_desc + "\n";
  if (const Json* def = field(prop, "default")) {
    out += indent + "// default: " + default_text(*def, prop, false) + "\n";
  }
  out += indent + key + (required ? "" : "?") + ":\n";
  for (size_t i = 0; i < variants.size(); ++i) {
    const Json& variant = variants[i];
    out += indent + " | ";
    std::string type_text = render(variant, indent + "   ", depth + 1);
    add_null_if_nullable(variant, type_text);
    out += type_text;
    std::vector<std::string> comments;
    const std::string* desc = string_field(variant, "description");
    if (!(i == 0 && desc_above) && desc != nullptr &&
        (prop_desc == nullptr || *desc != *prop_desc)) {
      comments.push_back(*desc);
    }
    if (const Json* def = field(variant, "default")) {
      comments.push_back("default: " + default_text(*def, variant, false));
    }
    if (!comments.empty()) out += " // " + join(comments, " ");
    out += "\n";
  }
  out += indent + ",\n";
}

void render_property(const std::string& key, const Json& prop, bool required,
                     const std::string& indent, int depth, std::string& out) {
  if (const std::string* title = string_field(prop, "title")) {
    out += indent + "// " + *title + "\n" + indent + "//\n";
  }
  const Json* one_of = field(prop, "oneOf");
  if (one_of == nullptr) {
    if (const std::string* desc = string_field(prop, "description")) {
      out += indent + "// " + *desc + "\n";
    }
  }
  if (const Json* examples = field(prop, "examples");
      examples && examples->is_array() && !examples->empty()) {
    out += indent + "// Examples:\n";
    for (const Json& ex : *examples) {
      if (ex.is_string()) out += indent + "// - \"" + ex.get<std::string>() + "\"\n";
    }
  }
  if (one_of != nullptr && one_of->is_array()) {
    render_one_of_property(key, prop, *one_of, required, indent, depth, out);
    return;
  }
  out += indent + key + (required ? "" : "?") + ": ";
  std::string type_text = render(prop, indent + "    ", depth + 1);
  add_null_if_nullable(prop, type_text);
  out += type_text + ",";
  if (one_of == nullptr) {
    if (const Json* def = field(prop, "default")) {
      out += " // default: " + default_text(*def, prop, false);
    }
  }
  out += "\n";
}

std::string render_object(const Json& schema, const std::string& indent, int depth) {
  std::string out;
  if (const std::string* desc = string_field(schema, "description")) {
    out += indent + "// " + *desc + "\n";
  }
  out += "{\n";
  const Json* props = field(schema, "properties");
  if (props != nullptr && props->is_object()) {
    std::set<std::string, std::less<>> required;
    if (const Json* req = field(schema, "required"); req && req->is_array()) {
      for (const Json& r : *req) {
        if (r.is_string()) required.insert(r.get<std::string>());
      }
    }
    for (const auto& [key, prop] : props->items()) {
      render_property(key, prop, required.count(key) > 0, indent, depth, out);
    }
  }
  out += indent + "}";
  return out;
}

std::string render_string(const Json& schema) {
  const Json* values = field(schema, "enum");
  if (values != nullptr && values->is_array()) {
    std::vector<std::string> quoted;
    for (const Json& v : *values) {
      if (v.is_string()) quoted.push_back("\"" + v.get<std::string>() + "\"");
    }
    if (!quoted.empty()) return join(quoted, " | ");
  }
  return "string";
}

std::string render(const Json& schema, const std::string& indent, int depth) {
  if (depth > kMaxDepth) return "any";
  if (const Json* one_of = field(schema, "oneOf"); one_of && one_of->is_array()) {
    return render_one_of(*one_of, indent, depth);
  }
  const Json* type = field(schema, "type");
  if (type != nullptr && type->is_array()) {
    std::vector<std::string> names;
    for (const Json& t : *type) {
      if (!t.is_string()) continue;
      const std::string& name = t.get_ref<const std::string&>();
      names.push_back(name == "integer" ? "number" : name);
    }
    if (!names.empty()) return join(names, " | ");
  }
  if (type == nullptr || !type->is_string()) return "any";
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "object") return render_object(schema, indent, depth);
  if (t == "string") return render_string(schema);
  if (t == "number" || t == "integer") return "number";
  if (t == "boolean") return "boolean";
  if (t == "array") {
    const Json* items = field(schema, "items");
    return items != nullptr ? render(*items, indent, depth + 1) + "[]" : "Array<any>";
  }
  return "any";
}

// A float as serde_json (ryu) prints it. nlohmann gives the same shortest
// digits but a different layout (exponent "e+20"/"e-05", other thresholds), so
// the digits are re-laid out: value = 0.DIGITS x 10^point.
std::string float_text(double value) {
  std::string s = Json(value).dump();
  if (s == "null") return s;  // NaN/inf cannot come from parsed JSON
  std::string out;
  size_t i = 0;
  if (s[0] == '-') {
    out = "-";
    i = 1;
  }
  std::string digits;
  long point = 0;
  bool seen_dot = false;
  for (; i < s.size() && s[i] != 'e' && s[i] != 'E'; ++i) {
    if (s[i] == '.') {
      seen_dot = true;
    } else {
      digits += s[i];
      if (!seen_dot) ++point;
    }
  }
  if (i < s.size()) point += std::strtol(s.c_str() + i + 1, nullptr, 10);
  size_t lead = digits.find_first_not_of('0');
  if (lead == std::string::npos) return out + "0.0";
  digits.erase(0, lead);
  point -= static_cast<long>(lead);
  digits.erase(digits.find_last_not_of('0') + 1);
  const long len = static_cast<long>(digits.size());
  if (len <= point && point <= 16) {
    return out + digits + std::string(point - len, '0') + ".0";
  }
  if (0 < point && point <= 16) {
    return out + digits.substr(0, point) + "." + digits.substr(point);
  }
  if (-5 < point && point <= 0) return out + "0." + std::string(-point, '0') + digits;
  std::string mantissa = len == 1 ? digits : digits.substr(0, 1) + "." + digits.substr(1);
  return out + mantissa + "e" + std::to_string(point - 1);
}

void compact_into(const Json& v, std::string& out, int depth = 0) {
  if (depth > kMaxDepth) {
    out += "null";  // pathological nesting; see kMaxDepth
    return;
  }
  switch (v.type()) {
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out += ',';
        first = false;
        out += Json(key).dump(-1, ' ', false, Json::error_handler_t::replace);
        out += ':';
        compact_into(item, out, depth + 1);
      }
      out += '}';
      return;
    }
    case Json::value_t::array: {
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ',';
        compact_into(v[i], out, depth + 1);
      }
      out += ']';
      return;
    }
    case Json::value_t::number_float:
      out += float_text(v.get<double>());
      return;
    default:
      out += v.dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
  }
}

}  // namespace

std::string json_compact(const nlohmann::ordered_json& value) {
  std::string out;
  compact_into(value, out);
  return out;
}

std::string json_schema_to_typescript(const nlohmann::ordered_json& schema,
                                      std::string_view indent) {
  return render(schema, std::string(indent), 0);
}

}  // namespace quarry::harmony
