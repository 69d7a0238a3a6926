// JSON Schema, compiled into the small set of node kinds that constrained
// decoding walks byte by byte (json_matcher.h), and a validator over the same
// nodes. The subset is the one OpenAI's strict structured outputs use:
// type (one or a list), properties / required / additionalProperties, items /
// prefixItems-free arrays with minItems / maxItems, enum, const, anyOf /
// oneOf, nullable, $ref into $defs / definitions (recursion allowed),
// string minLength / maxLength. Keywords outside it (pattern, format,
// minimum, ...) are accepted and ignored: the output is valid JSON of the
// right shape, not checked against them.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace quarry::grammar {

struct Node;

struct Property {
  std::string name;
  std::string key;  // the name as JSON text, quotes included: "\"city\""
  const Node* value = nullptr;
  bool required = false;
};

enum class Kind {
  kAny,      // any JSON value
  kObject,   // properties in schema order; or free keys when `props` is empty
  kArray,    // items of `items`
  kString,   // min_len..max_len code points
  kNumber,   // any JSON number
  kInteger,  // -?(0|[1-9][0-9]*)
  kBoolean,
  kNull,
  kLiteral,  // exactly `literal` (enum / const members, compact JSON text)
  kAnyOf,    // one of `alts`
};

struct Node {
  Kind kind = Kind::kAny;
  std::vector<Property> props;  // kObject
  // kObject with no props: values of free keys (kAny when unconstrained).
  // With props: whether other keys are allowed (never generated).
  const Node* additional = nullptr;
  bool allow_additional = false;
  const Node* items = nullptr;  // kArray
  size_t min_items = 0, max_items = SIZE_MAX;
  size_t min_len = 0, max_len = SIZE_MAX;  // kString
  std::string literal;                     // kLiteral
  nlohmann::ordered_json literal_value;    // kLiteral, for validation
  std::vector<const Node*> alts;           // kAnyOf
};

// Owns the nodes; `root` points into them.
class Schema {
 public:
  // Errors name the path in the schema (`properties.city.type: ...`).
  static Result<std::shared_ptr<const Schema>> compile(const nlohmann::ordered_json& schema);
  // A schema that accepts any JSON object (response_format json_object).
  static std::shared_ptr<const Schema> any_object();
  // Accepts any JSON value.
  static std::shared_ptr<const Schema> any_value();

  const Node* root() const { return root_; }

  // Checks a parsed value; the error names the path in the value
  // (`$.items[2].name: expected a string`).
  Status validate(const nlohmann::ordered_json& value) const;

 private:
  friend class SchemaCompiler;
  Node* add() { return &nodes_.emplace_back(); }
  std::deque<Node> nodes_;
  const Node* root_ = nullptr;
};

// The shortest JSON text that `node` accepts ("" when none exists, e.g. a
// required property that recurses forever).
std::string shortest_value(const Node* node);

}  // namespace quarry::grammar
