#include "store/names.h"

#include <cctype>
#include <vector>

#include "base/strings.h"

namespace quarry::store {

std::string_view to_string(ArnKind kind) {
  switch (kind) {
    case ArnKind::kModel:
      return "model";
    case ArnKind::kEndpointConfig:
      return "endpoint-config";
    case ArnKind::kEndpoint:
      return "endpoint";
  }
  return "unknown";
}

std::string sagemaker_arn(std::string_view region, std::string_view account, ArnKind kind,
                          std::string_view name) {
  std::string arn = "arn:aws:sagemaker:";
  arn += region;
  arn += ':';
  arn += account;
  arn += ':';
  arn += to_string(kind);
  arn += '/';
  for (char c : name) arn += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return arn;
}

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ without std::regex: a leading
// alphanumeric, then runs of hyphens each closed by an alphanumeric, at most
// 62 of those. Hyphens alone are not counted, which is why AWS adds a length
// limit on top.
bool matches_pattern(std::string_view name) {
  if (name.empty() || !is_alnum(name.front()) || !is_alnum(name.back())) return false;
  size_t groups = 0;
  for (size_t i = 1; i < name.size(); ++i) {
    if (is_alnum(name[i])) {
      ++groups;
    } else if (name[i] != '-') {
      return false;
    }
  }
  return groups <= 62;
}

constexpr size_t kMaxNameLength = 63;

}  // namespace

std::optional<std::string> validate_name(std::string_view name, std::string_view field) {
  const std::string head = "Value '" + std::string(name) + "' at '" + std::string(field) +
                           "' failed to satisfy constraint: ";
  std::vector<std::string> errors;
  if (!matches_pattern(name)) {
    errors.push_back(
        head + "Member must satisfy regular expression pattern: " + std::string(kNamePattern));
  }
  if (name.size() > kMaxNameLength) {
    errors.push_back(head + "Member must have length less than or equal to " +
                     std::to_string(kMaxNameLength));
  }
  if (errors.empty()) return std::nullopt;
  const std::string count = errors.size() == 1
                                ? "1 validation error detected: "
                                : std::to_string(errors.size()) + " validation errors detected: ";
  return count + join(errors, "; ");
}

}  // namespace quarry::store
