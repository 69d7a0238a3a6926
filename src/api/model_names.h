// The names a served model answers to (shared/spec/apis.md §1.4): each served
// name, its Hugging Face repo id (openai/NAME), its Bedrock ids
// (openai.NAME-1:0 and openai.NAME) and Bedrock foundation-model ARNs
// (arn:aws:bedrock:REGION::foundation-model/openai.NAME-1:0). Case-sensitive.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quarry::api {

class ModelNames {
 public:
  // `served`: the names in the order /v1/models lists them (at least one).
  explicit ModelNames(std::vector<std::string> served) : served_(std::move(served)) {}

  const std::vector<std::string>& served() const { return served_; }
  const std::string& primary() const { return served_.front(); }

  // The served name `name` refers to, directly or through an alias.
  std::optional<std::string> resolve(std::string_view name) const;

 private:
  std::vector<std::string> served_;
};

}  // namespace quarry::api
