#include "api/model_names.h"

namespace quarry::api {
namespace {

// "openai.NAME-1:0" or "openai.NAME" -> "NAME".
std::string_view strip_bedrock_id(std::string_view id) {
  constexpr std::string_view kPrefix = "openai.";
  if (!id.starts_with(kPrefix)) return {};
  id.remove_prefix(kPrefix.size());
  // A version suffix "-<digits>:<digits>".
  if (const size_t colon = id.rfind(':'); colon != std::string_view::npos) {
    const size_t dash = id.rfind('-', colon);
    if (dash == std::string_view::npos) return {};
    auto digits = [](std::string_view s) {
      if (s.empty()) return false;
      for (char c : s) {
        if (c < '0' || c > '9') return false;
      }
      return true;
    };
    if (!digits(id.substr(dash + 1, colon - dash - 1)) || !digits(id.substr(colon + 1))) return {};
    id = id.substr(0, dash);
  }
  return id;
}

}  // namespace

std::optional<std::string> ModelNames::resolve(std::string_view name) const {
  std::string_view base = name;
  if (base.starts_with("arn:aws:bedrock:")) {
    const size_t slash = base.find("::foundation-model/");
    if (slash == std::string_view::npos) return std::nullopt;
    base = strip_bedrock_id(base.substr(slash + 19));
  } else if (base.starts_with("openai/")) {
    base.remove_prefix(7);
  } else if (base.starts_with("openai.")) {
    base = strip_bedrock_id(base);
  }
  for (const std::string& s : served_) {
    if (s == name || (!base.empty() && s == base)) return s;
  }
  return std::nullopt;
}

}  // namespace quarry::api
