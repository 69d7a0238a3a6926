#include "grammar/json_schema.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace quarry::grammar {
namespace {

#define GRAMMAR_TRY(expr)      \
  do {                         \
    Status st_ = (expr);       \
    if (!st_.ok()) return st_; \
  } while (0)

size_t count_code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

using Json = nlohmann::ordered_json;

constexpr int kMaxSchemaDepth = 64;
constexpr int kMaxValueDepth = 256;

std::string join_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

Result<size_t> count_field(const Json& j, const char* key, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end()) return size_t{0};
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    return make_error(join_path(path, key) + ": must be a non-negative integer");
  }
  return static_cast<size_t>(it->get<int64_t>());
}

// `min_key` / `max_key` (e.g. minItems / maxItems) into lo / hi; absent
// keys leave them as they are.
Status count_range(const Json& j, const char* min_key, const char* max_key, const std::string& path,
                   size_t& lo, size_t& hi) {
  QUARRY_ASSIGN(lo, count_field(j, min_key, path));
  if (!j.contains(max_key)) return Status::Ok();
  QUARRY_ASSIGN(hi, count_field(j, max_key, path));
  if (hi < lo) return make_error(join_path(path, max_key) + ": is below " + min_key);
  return Status::Ok();
}

}  // namespace

class SchemaCompiler {
 public:
  SchemaCompiler(Schema& s, const Json& doc) : s_(s), doc_(doc) {}

  Status compile(Node& out, const Json& j, const std::string& path, int depth) {
    if (depth > kMaxSchemaDepth) return make_error(path + ": the schema nests too deeply");
    if (j.is_boolean()) {
      if (!j.get<bool>()) return make_error(path + ": the schema `false` accepts nothing");
      out.kind = Kind::kAny;
      return Status::Ok();
    }
    if (!j.is_object()) return make_error(path + ": a schema must be an object or a boolean");
    if (auto ref = j.find("$ref"); ref != j.end()) return compile_ref(out, *ref, path, depth);
    for (const char* key : {"anyOf", "oneOf"}) {
      if (auto alts = j.find(key); alts != j.end()) {
        return compile_alts(out, *alts, join_path(path, key), depth, j.value("nullable", false));
      }
    }
    if (auto all = j.find("allOf"); all != j.end()) {
      if (!all->is_array() || all->size() != 1) {
        return make_error(join_path(path, "allOf") + ": only a single schema is supported");
      }
      return compile(out, (*all)[0], join_path(path, "allOf[0]"), depth + 1);
    }
    if (auto c = j.find("const"); c != j.end()) {
      set_literal(out, *c);
      return Status::Ok();
    }
    if (auto e = j.find("enum"); e != j.end()) {
      if (!e->is_array() || e->empty()) {
        return make_error(join_path(path, "enum") + ": must be a non-empty array");
      }
      if (e->size() == 1) {
        set_literal(out, (*e)[0]);
        return Status::Ok();
      }
      out.kind = Kind::kAnyOf;
      for (const Json& v : *e) {
        Node* n = s_.add();
        set_literal(*n, v);
        out.alts.push_back(n);
      }
      return Status::Ok();
    }
    auto type = j.find("type");
    const bool nullable = j.value("nullable", false);
    if (type != j.end() && type->is_array()) {
      if (type->empty()) return make_error(join_path(path, "type") + ": must not be empty");
      out.kind = Kind::kAnyOf;
      for (const Json& t : *type) {
        if (!t.is_string()) return make_error(join_path(path, "type") + ": must hold strings");
        Node* n = s_.add();
        GRAMMAR_TRY(compile_type(*n, t.get<std::string>(), j, path, depth));
        out.alts.push_back(n);
      }
      if (nullable) add_null(out);
      return Status::Ok();
    }
    std::string t;
    if (type != j.end()) {
      if (!type->is_string()) {
        return make_error(join_path(path, "type") + ": must be a string or an array of strings");
      }
      t = type->get<std::string>();
    } else if (j.contains("properties") || j.contains("additionalProperties")) {
      t = "object";
    } else if (j.contains("items")) {
      t = "array";
    } else {
      out.kind = Kind::kAny;
      return Status::Ok();
    }
    if (!nullable) return compile_type(out, t, j, path, depth);
    out.kind = Kind::kAnyOf;
    Node* n = s_.add();
    GRAMMAR_TRY(compile_type(*n, t, j, path, depth));
    out.alts.push_back(n);
    add_null(out);
    return Status::Ok();
  }

 private:
  void add_null(Node& out) {
    Node* n = s_.add();
    n->kind = Kind::kNull;
    out.alts.push_back(n);
  }

  static void set_literal(Node& out, const Json& v) {
    out.kind = Kind::kLiteral;
    out.literal = v.dump(-1, ' ', false, Json::error_handler_t::replace);
    out.literal_value = v;
  }

  Status compile_ref(Node& out, const Json& ref, const std::string& path, int depth) {
    if (!ref.is_string()) return make_error(join_path(path, "$ref") + ": must be a string");
    const std::string r = ref.get<std::string>();
    if (auto it = refs_.find(r); it != refs_.end()) {
      // A reference being compiled (recursion) or compiled: share its node.
      out.kind = Kind::kAnyOf;
      out.alts = {it->second};
      return Status::Ok();
    }
    const Json* target = nullptr;
    if (r == "#") {
      target = &doc_;
    } else {
      for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
        const std::string p(prefix);
        if (r.rfind(p, 0) != 0) continue;
        const std::string section = p.substr(2, p.size() - 3);
        auto sec = doc_.find(section);
        if (sec == doc_.end() || !sec->is_object()) break;
        if (auto t = sec->find(r.substr(p.size())); t != sec->end()) target = &*t;
        break;
      }
    }
    if (target == nullptr) {
      return make_error(join_path(path, "$ref") + ": cannot resolve \"" + r +
                        "\" (only #, #/$defs/NAME and #/definitions/NAME are supported)");
    }
    Node* n = s_.add();
    refs_[r] = n;
    GRAMMAR_TRY(compile(*n, *target, r.substr(r == "#" ? 1 : 2), depth + 1));
    out.kind = Kind::kAnyOf;
    out.alts = {n};
    return Status::Ok();
  }

  Status compile_alts(Node& out, const Json& alts, const std::string& path, int depth,
                      bool nullable) {
    if (!alts.is_array() || alts.empty()) return make_error(path + ": must be a non-empty array");
    out.kind = Kind::kAnyOf;
    for (size_t i = 0; i < alts.size(); ++i) {
      Node* n = s_.add();
      GRAMMAR_TRY(compile(*n, alts[i], path + "[" + std::to_string(i) + "]", depth + 1));
      out.alts.push_back(n);
    }
    if (nullable) add_null(out);
    return Status::Ok();
  }

  Status compile_type(Node& out, const std::string& t, const Json& j, const std::string& path,
                      int depth) {
    if (t == "string") {
      out.kind = Kind::kString;
      GRAMMAR_TRY(count_range(j, "minLength", "maxLength", path, out.min_len, out.max_len));
    } else if (t == "number") {
      out.kind = Kind::kNumber;
    } else if (t == "integer") {
      out.kind = Kind::kInteger;
    } else if (t == "boolean") {
      out.kind = Kind::kBoolean;
    } else if (t == "null") {
      out.kind = Kind::kNull;
    } else if (t == "array") {
      return compile_array(out, j, path, depth);
    } else if (t == "object") {
      return compile_object(out, j, path, depth);
    } else {
      return make_error(join_path(path, "type") + ": unknown type \"" + t + "\"");
    }
    return Status::Ok();
  }

  Status compile_array(Node& out, const Json& j, const std::string& path, int depth) {
    out.kind = Kind::kArray;
    Node* items = s_.add();
    if (auto it = j.find("items"); it != j.end()) {
      GRAMMAR_TRY(compile(*items, *it, join_path(path, "items"), depth + 1));
    }
    out.items = items;
    return count_range(j, "minItems", "maxItems", path, out.min_items, out.max_items);
  }

  Status compile_object(Node& out, const Json& j, const std::string& path, int depth) {
    out.kind = Kind::kObject;
    std::vector<std::string> required;
    if (auto r = j.find("required"); r != j.end()) {
      if (!r->is_array()) return make_error(join_path(path, "required") + ": must be an array");
      for (const Json& name : *r) {
        if (!name.is_string()) {
          return make_error(join_path(path, "required") + ": must hold strings");
        }
        required.push_back(name.get<std::string>());
      }
    }
    if (auto props = j.find("properties"); props != j.end()) {
      if (!props->is_object()) {
        return make_error(join_path(path, "properties") + ": must be an object");
      }
      for (const auto& [name, sub] : props->items()) {
        Property p;
        p.name = name;
        p.key = Json(name).dump(-1, ' ', false, Json::error_handler_t::replace);
        Node* n = s_.add();
        GRAMMAR_TRY(compile(*n, sub, join_path(path, "properties." + name), depth + 1));
        p.value = n;
        p.required = std::find(required.begin(), required.end(), name) != required.end();
        out.props.push_back(std::move(p));
      }
    }
    for (const std::string& name : required) {
      if (std::none_of(out.props.begin(), out.props.end(),
                       [&](const Property& p) { return p.name == name; })) {
        return make_error(join_path(path, "required") + ": \"" + name +
                          "\" is not among the properties");
      }
    }
    auto add = j.find("additionalProperties");
    out.allow_additional = out.props.empty();
    if (add != j.end()) {
      if (add->is_boolean()) {
        out.allow_additional = add->get<bool>();
      } else {
        Node* n = s_.add();
        GRAMMAR_TRY(compile(*n, *add, join_path(path, "additionalProperties"), depth + 1));
        out.additional = n;
        out.allow_additional = true;
      }
    }
    if (out.additional == nullptr) out.additional = any_node();
    return Status::Ok();
  }

  Node* any_node() {
    if (any_ == nullptr) any_ = s_.add();
    return any_;
  }

  Schema& s_;
  const Json& doc_;
  std::map<std::string, Node*> refs_;
  Node* any_ = nullptr;
};

Result<std::shared_ptr<const Schema>> Schema::compile(const nlohmann::ordered_json& schema) {
  auto s = std::make_shared<Schema>();
  Node* root = s->add();
  SchemaCompiler c(*s, schema);
  if (Status st = c.compile(*root, schema, "", 0); !st.ok()) {
    return make_error(st.message().rfind(": ", 0) == 0 ? "schema" + st.message() : st.message());
  }
  s->root_ = root;
  return std::shared_ptr<const Schema>(std::move(s));
}

std::shared_ptr<const Schema> Schema::any_object() {
  auto s = std::make_shared<Schema>();
  Node* any = s->add();
  Node* root = s->add();
  root->kind = Kind::kObject;
  root->allow_additional = true;
  root->additional = any;
  s->root_ = root;
  return s;
}

std::shared_ptr<const Schema> Schema::any_value() {
  auto s = std::make_shared<Schema>();
  s->root_ = s->add();
  return s;
}

namespace {

Status validate_node(const Node* n, const Json& v, const std::string& path, int depth) {
  if (depth > kMaxValueDepth) return make_error(path + ": nests too deeply");
  auto expected = [&](const char* what) { return make_error(path + ": expected " + what); };
  switch (n->kind) {
    case Kind::kAny:
      return Status::Ok();
    case Kind::kString: {
      if (!v.is_string()) return expected("a string");
      const size_t len = count_code_points(v.get_ref<const std::string&>());
      if (len < n->min_len) return make_error(path + ": shorter than minLength");
      if (len > n->max_len) return make_error(path + ": longer than maxLength");
      return Status::Ok();
    }
    case Kind::kNumber:
      return v.is_number() ? Status::Ok() : expected("a number");
    case Kind::kInteger:
      if (v.is_number_integer()) return Status::Ok();
      if (v.is_number_float() && std::trunc(v.get<double>()) == v.get<double>()) {
        return Status::Ok();
      }
      return expected("an integer");
    case Kind::kBoolean:
      return v.is_boolean() ? Status::Ok() : expected("a boolean");
    case Kind::kNull:
      return v.is_null() ? Status::Ok() : expected("null");
    case Kind::kLiteral:
      return v == n->literal_value ? Status::Ok() : expected(n->literal.c_str());
    case Kind::kAnyOf:
      for (const Node* alt : n->alts) {
        if (validate_node(alt, v, path, depth + 1).ok()) return Status::Ok();
      }
      if (n->alts.size() == 1) return validate_node(n->alts[0], v, path, depth + 1);
      return make_error(path + ": matches none of the alternatives");
    case Kind::kArray: {
      if (!v.is_array()) return expected("an array");
      if (v.size() < n->min_items) return make_error(path + ": fewer items than minItems");
      if (v.size() > n->max_items) return make_error(path + ": more items than maxItems");
      for (size_t i = 0; i < v.size(); ++i) {
        GRAMMAR_TRY(validate_node(n->items, v[i], path + "[" + std::to_string(i) + "]", depth + 1));
      }
      return Status::Ok();
    }
    case Kind::kObject: {
      if (!v.is_object()) return expected("an object");
      for (const Property& p : n->props) {
        auto it = v.find(p.name);
        if (it == v.end()) {
          if (p.required) return make_error(path + ": missing property \"" + p.name + "\"");
          continue;
        }
        GRAMMAR_TRY(validate_node(p.value, *it, path + "." + p.name, depth + 1));
      }
      for (const auto& [key, value] : v.items()) {
        const bool known = std::any_of(n->props.begin(), n->props.end(),
                                       [&](const Property& p) { return p.name == key; });
        if (known) continue;
        if (!n->allow_additional) return make_error(path + ": unexpected property \"" + key + "\"");
        GRAMMAR_TRY(validate_node(n->additional, value, path + "." + key, depth + 1));
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

std::string shortest(const Node* n, int depth) {
  if (depth > 32) return {};
  switch (n->kind) {
    case Kind::kAny:
    case Kind::kNumber:
    case Kind::kInteger:
      return "0";
    case Kind::kString:
      return "\"" + std::string(n->min_len, 'a') + "\"";
    case Kind::kBoolean:
      return "true";
    case Kind::kNull:
      return "null";
    case Kind::kLiteral:
      return n->literal;
    case Kind::kAnyOf: {
      std::string best;
      for (const Node* alt : n->alts) {
        std::string s = shortest(alt, depth + 1);
        if (!s.empty() && (best.empty() || s.size() < best.size())) best = std::move(s);
      }
      return best;
    }
    case Kind::kArray: {
      std::string out = "[";
      if (n->min_items > 0) {
        const std::string item = shortest(n->items, depth + 1);
        if (item.empty()) return {};
        for (size_t i = 0; i < n->min_items; ++i) out += (i ? "," : "") + item;
      }
      return out + "]";
    }
    case Kind::kObject: {
      std::string out = "{";
      bool first = true;
      for (const Property& p : n->props) {
        if (!p.required) continue;
        const std::string v = shortest(p.value, depth + 1);
        if (v.empty()) return {};
        if (!first) out += ',';
        out += p.key;
        out += ':';
        out += v;
        first = false;
      }
      return out + "}";
    }
  }
  return {};
}

}  // namespace

Status Schema::validate(const nlohmann::ordered_json& value) const {
  return validate_node(root_, value, "$", 0);
}

std::string shortest_value(const Node* node) { return shortest(node, 0); }

}  // namespace quarry::grammar
