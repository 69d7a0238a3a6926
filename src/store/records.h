// The records the control-plane store keeps, as plain structs. JSON documents
// (a model's PrimaryContainer, a config's ProductionVariants) are kept as the
// caller's JSON text: the store never parses them. Times are epoch seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quarry::store {

// SageMaker's EndpointStatus values that quarry uses.
enum class EndpointStatus { kCreating, kInService, kUpdating, kFailed, kDeleting };

// "Creating", "InService", "Updating", "Failed", "Deleting" (the wire spelling).
std::string_view to_string(EndpointStatus status);
// The inverse; nullopt for anything else (case-sensitive, like AWS).
std::optional<EndpointStatus> parse_endpoint_status(std::string_view text);

// CreateModel. On create the caller fills the inputs; the store sets `arn`
// and `created_at`.
struct Model {
  std::string name;
  std::string arn;
  std::string primary_container_json = "{}";  // PrimaryContainer as sent
  std::string environment_json = "{}";        // PrimaryContainer.Environment
  // Extracted by the caller so the server can pick the model without parsing
  // JSON again: Environment.HF_MODEL_ID and PrimaryContainer.ModelDataUrl
  // ("" when absent).
  std::string hf_model_id;
  std::string model_data_url;
  std::string execution_role_arn;  // recorded, not used ("" when absent)
  double created_at = 0;
};

// CreateEndpointConfig. The store sets `arn` and `created_at`.
struct EndpointConfig {
  std::string name;
  std::string arn;
  std::string production_variants_json = "[]";
  double created_at = 0;
};

struct Endpoint {
  std::string name;
  std::string arn;
  std::string config_name;
  EndpointStatus status = EndpointStatus::kCreating;
  std::string failure_reason;  // non-empty only when status is kFailed
  double created_at = 0;
  double last_modified_at = 0;
};

// A SigV4 access key. The secret is stored as is, because verifying a
// signature needs it (that is why the file is 0600); it is wiped on revoke.
struct AccessKey {
  std::string access_key_id;  // "AKIA" + 16 of [A-Z0-9] when generated
  std::string secret;         // 40 chars when generated; "" once revoked
  std::string description;
  double created_at = 0;
  std::optional<double> revoked_at;  // nullopt = active
  bool active() const { return !revoked_at.has_value(); }
};

// An OpenAI / Bedrock bearer key. Only its SHA-256 is stored.
struct ApiKey {
  std::string id;        // 16 lower-case hex chars
  std::string key_hash;  // lower-case hex SHA-256 of the plaintext key
  std::string prefix;    // the key's first 8 chars, to tell keys apart in listings
  std::string description;
  double created_at = 0;
  std::optional<double> revoked_at;
  bool active() const { return !revoked_at.has_value(); }
};

// What create_api_key returns: the only time the plaintext exists.
struct NewApiKey {
  ApiKey key;
  std::string plaintext;  // "qk-" + 40 base62 chars
};

// Token counts for one principal (API key id or access key id) and model.
struct UsageRow {
  std::string principal;
  std::string model;
  int64_t requests = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t reasoning_tokens = 0;  // part of output_tokens, counted apart too
  double first_used_at = 0;
  double last_used_at = 0;
};

enum class SortBy { kCreationTime, kName, kStatus };  // kStatus: endpoints only
enum class SortOrder { kDescending, kAscending };     // AWS's default is Descending

// The List* operations' filters. Unset members do not filter.
struct ListQuery {
  std::string name_contains;  // case-insensitive substring of the name
  SortBy sort_by = SortBy::kCreationTime;
  SortOrder sort_order = SortOrder::kDescending;
  int max_results = 10;                        // 1..100, as in SageMaker
  std::string next_token;                      // a previous page's next_token; "" = first page
  std::optional<double> creation_time_before;  // created_at < this
  std::optional<double> creation_time_after;   // created_at > this
  // Endpoints only (an error for models and configs):
  std::optional<EndpointStatus> status_equals;
  std::optional<double> last_modified_time_before;
  std::optional<double> last_modified_time_after;
};

template <class T>
struct Page {
  std::vector<T> items;
  std::string next_token;  // "" when this is the last page
};

// What repair_after_restart did (see Store::repair_after_restart).
struct RepairResult {
  std::vector<Endpoint> to_load;     // now Creating or Updating: load their model
  std::vector<std::string> deleted;  // names of endpoints that were Deleting
};

}  // namespace quarry::store
