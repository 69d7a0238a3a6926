// The SageMaker records: models, endpoint configs, endpoints; their List*
// queries; crash repair.
#include <charconv>
#include <mutex>
#include <variant>
#include <vector>

#include "store/sqlite_util.h"
#include "store/store.h"
#include "store/store_impl.h"

namespace quarry::store {

using detail::Stmt;
using detail::Txn;

std::string_view to_string(EndpointStatus status) {
  switch (status) {
    case EndpointStatus::kCreating:
      return "Creating";
    case EndpointStatus::kInService:
      return "InService";
    case EndpointStatus::kUpdating:
      return "Updating";
    case EndpointStatus::kFailed:
      return "Failed";
    case EndpointStatus::kDeleting:
      return "Deleting";
  }
  return "Failed";
}

std::optional<EndpointStatus> parse_endpoint_status(std::string_view text) {
  for (auto s : {EndpointStatus::kCreating, EndpointStatus::kInService, EndpointStatus::kUpdating,
                 EndpointStatus::kFailed, EndpointStatus::kDeleting}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

namespace {

// What differs between the three SageMaker tables.
struct Kind {
  ArnKind arn_kind;
  const char* table;
  const char* columns;  // in the order the row reader expects
  const char* field;    // the request member in AWS messages
  const char* noun;     // as in AWS's "Could not find <noun> ..."
  bool has_status;      // endpoints: status and last_modified_at columns
};

constexpr Kind kModelKind{ArnKind::kModel,
                          "models",
                          "name, arn, primary_container, environment, hf_model_id, "
                          "model_data_url, execution_role_arn, created_at",
                          "modelName",
                          "model",
                          false};
constexpr Kind kConfigKind{ArnKind::kEndpointConfig,
                           "endpoint_configs",
                           "name, arn, production_variants, created_at",
                           "endpointConfigName",
                           "endpoint configuration",
                           false};
constexpr Kind kEndpointKind{ArnKind::kEndpoint,
                             "endpoints",
                             "name, arn, config_name, status, failure_reason, created_at, "
                             "last_modified_at",
                             "endpointName",
                             "endpoint",
                             true};

Model read_model(const Stmt& s) {
  Model m;
  m.name = s.text(0);
  m.arn = s.text(1);
  m.primary_container_json = s.text(2);
  m.environment_json = s.text(3);
  m.hf_model_id = s.text(4);
  m.model_data_url = s.text(5);
  m.execution_role_arn = s.text(6);
  m.created_at = s.real(7);
  return m;
}

EndpointConfig read_config(const Stmt& s) {
  EndpointConfig c;
  c.name = s.text(0);
  c.arn = s.text(1);
  c.production_variants_json = s.text(2);
  c.created_at = s.real(3);
  return c;
}

Endpoint read_endpoint(const Stmt& s) {
  Endpoint e;
  e.name = s.text(0);
  e.arn = s.text(1);
  e.config_name = s.text(2);
  // The CHECK constraint keeps the column to the five known values.
  e.status = parse_endpoint_status(s.text(3)).value_or(EndpointStatus::kFailed);
  e.failure_reason = s.text(4);
  e.created_at = s.real(5);
  e.last_modified_at = s.real(6);
  return e;
}

StoreStatus check_name(const Kind& kind, std::string_view name) {
  if (auto msg = validate_name(name, kind.field)) {
    return store_error(StoreErrc::kInvalidArgument, *msg);
  }
  return StoreStatus::Ok();
}

StoreError not_found(const detail::StoreState& impl, const Kind& kind, std::string_view name) {
  return store_error(StoreErrc::kNotFound, "Could not find " + std::string(kind.noun) + " \"" +
                                               impl.arn(kind.arn_kind, name) + "\".");
}

StoreError already_exists(const detail::StoreState& impl, const Kind& kind, std::string_view name) {
  return store_error(StoreErrc::kAlreadyExists, "Cannot create already existing " +
                                                    std::string(kind.noun) + " \"" +
                                                    impl.arn(kind.arn_kind, name) + "\".");
}

// The row named `name`, read with `reader`; kNotFound if there is none.
template <class T, class Reader>
StoreResult<T> get_row(const detail::StoreState& impl, const Kind& kind, std::string_view name,
                       Reader reader) {
  if (auto st = check_name(kind, name); !st) return st.error();
  Stmt s(impl.db, std::string("SELECT ") + kind.columns + " FROM " + kind.table + " WHERE name = ?",
         std::string("reading ") + kind.noun);
  s.bind(name);
  auto row = s.step();
  if (!row) return row.error();
  if (!*row) return not_found(impl, kind, name);
  return reader(s);
}

StoreResult<bool> exists(const detail::StoreState& impl, const Kind& kind, std::string_view name) {
  Stmt s(impl.db, std::string("SELECT 1 FROM ") + kind.table + " WHERE name = ?",
         std::string("reading ") + kind.noun);
  s.bind(name);
  return s.step();
}

StoreStatus delete_row(const detail::StoreState& impl, const Kind& kind, std::string_view name) {
  if (auto st = check_name(kind, name); !st) return st;
  Stmt s(impl.db, std::string("DELETE FROM ") + kind.table + " WHERE name = ?",
         std::string("deleting ") + kind.noun);
  s.bind(name);
  if (auto st = s.run(); !st) return st;
  if (sqlite3_changes(impl.db) == 0) return not_found(impl, kind, name);
  return StoreStatus::Ok();
}

StoreError invalid(std::string message) {
  return store_error(StoreErrc::kInvalidArgument, std::move(message));
}

// next_token is the offset of the page's first row, in decimal. It is
// opaque to clients; anything else is rejected rather than read as 0.
StoreResult<int64_t> parse_token(const std::string& token) {
  if (token.empty()) return int64_t{0};
  int64_t offset = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), offset);
  if (ec != std::errc() || end != token.data() + token.size() || offset < 0) {
    return invalid("Invalid pagination token: '" + token + "'.");
  }
  return offset;
}

using Bind = std::variant<std::string, double, int64_t>;

// One page of a List* query over `kind`'s table.
template <class T, class Reader>
StoreResult<Page<T>> list_rows(const detail::StoreState& impl, const Kind& kind, const ListQuery& q,
                               Reader reader) {
  const bool is_endpoint = kind.has_status;
  if (q.max_results < 1 || q.max_results > 100) {
    const char* bound =
        q.max_results < 1 ? "greater than or equal to 1" : "less than or equal to 100";
    return invalid("1 validation error detected: Value '" + std::to_string(q.max_results) +
                   "' at 'maxResults' failed to satisfy constraint: Member must have value " +
                   bound);
  }
  if (!is_endpoint && q.sort_by == SortBy::kStatus) {
    return invalid(
        "1 validation error detected: Value 'Status' at 'sortBy' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Name, CreationTime]");
  }
  if (!is_endpoint &&
      (q.status_equals || q.last_modified_time_before || q.last_modified_time_after)) {
    return invalid(std::string("store: status and last-modified filters apply to endpoints, not ") +
                   kind.table);
  }
  auto offset = parse_token(q.next_token);
  if (!offset) return offset.error();

  std::string sql = std::string("SELECT ") + kind.columns + " FROM " + kind.table + " WHERE 1";
  std::vector<Bind> binds;
  auto where = [&](const char* clause, Bind value) {
    sql += clause;
    binds.push_back(std::move(value));
  };
  if (!q.name_contains.empty()) where(" AND instr(lower(name), lower(?)) > 0", q.name_contains);
  if (q.creation_time_before) where(" AND created_at < ?", *q.creation_time_before);
  if (q.creation_time_after) where(" AND created_at > ?", *q.creation_time_after);
  if (q.status_equals) where(" AND status = ?", std::string(to_string(*q.status_equals)));
  if (q.last_modified_time_before) where(" AND last_modified_at < ?", *q.last_modified_time_before);
  if (q.last_modified_time_after) where(" AND last_modified_at > ?", *q.last_modified_time_after);

  const char* dir = q.sort_order == SortOrder::kAscending ? " ASC" : " DESC";
  const char* column = q.sort_by == SortBy::kName     ? "name"
                       : q.sort_by == SortBy::kStatus ? "status"
                                                      : "created_at";
  // The name breaks ties, so pages are stable when times or statuses are equal.
  sql += std::string(" ORDER BY ") + column + dir;
  if (q.sort_by != SortBy::kName) sql += std::string(", name") + dir;
  // One row more than asked tells whether another page follows.
  sql += " LIMIT ? OFFSET ?";
  binds.emplace_back(int64_t{q.max_results} + 1);
  binds.emplace_back(*offset);

  Stmt s(impl.db, sql, std::string("listing ") + kind.table);
  for (const Bind& b : binds) std::visit([&s](const auto& v) { s.bind(v); }, b);
  Page<T> page;
  for (;;) {
    auto row = s.step();
    if (!row) return row.error();
    if (!*row) break;
    if (static_cast<int>(page.items.size()) == q.max_results) {
      page.next_token = std::to_string(*offset + q.max_results);
      break;
    }
    page.items.push_back(reader(s));
  }
  return page;
}

}  // namespace

// --- Models ----------------------------------------------------------------

StoreResult<Model> Store::create_model(const Model& model) {
  detail::StoreState& impl = *impl_;
  std::lock_guard lock(impl.mu);
  if (auto st = check_name(kModelKind, model.name); !st) return st.error();
  Txn txn(impl.db);
  if (auto st = txn.begin(); !st) return st.error();
  auto taken = exists(impl, kModelKind, model.name);
  if (!taken) return taken.error();
  if (*taken) return already_exists(impl, kModelKind, model.name);
  Model m = model;
  m.arn = impl.arn(ArnKind::kModel, m.name);
  m.created_at = impl.now();
  Stmt s(impl.db,
         "INSERT INTO models (name, arn, primary_container, environment, hf_model_id, "
         "model_data_url, execution_role_arn, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
         "inserting model");
  s.bind(m.name).bind(m.arn).bind(m.primary_container_json).bind(m.environment_json);
  s.bind_or_null(m.hf_model_id).bind_or_null(m.model_data_url).bind_or_null(m.execution_role_arn);
  s.bind(m.created_at);
  if (auto st = s.run(); !st) return st.error();
  if (auto st = txn.commit(); !st) return st.error();
  return m;
}

StoreResult<Model> Store::get_model(std::string_view name) const {
  std::lock_guard lock(impl_->mu);
  return get_row<Model>(*impl_, kModelKind, name, read_model);
}

StoreResult<Page<Model>> Store::list_models(const ListQuery& query) const {
  std::lock_guard lock(impl_->mu);
  return list_rows<Model>(*impl_, kModelKind, query, read_model);
}

StoreStatus Store::delete_model(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  return delete_row(*impl_, kModelKind, name);
}

// --- Endpoint configs ------------------------------------------------------

StoreResult<EndpointConfig> Store::create_endpoint_config(
    const EndpointConfig& config, std::span<const std::string> model_names) {
  detail::StoreState& impl = *impl_;
  std::lock_guard lock(impl.mu);
  if (auto st = check_name(kConfigKind, config.name); !st) return st.error();
  for (const std::string& model : model_names) {
    if (auto st = check_name(kModelKind, model); !st) return st.error();
  }
  Txn txn(impl.db);
  if (auto st = txn.begin(); !st) return st.error();
  auto taken = exists(impl, kConfigKind, config.name);
  if (!taken) return taken.error();
  if (*taken) return already_exists(impl, kConfigKind, config.name);
  for (const std::string& model : model_names) {
    auto found = exists(impl, kModelKind, model);
    if (!found) return found.error();
    if (!*found) return not_found(impl, kModelKind, model);
  }
  EndpointConfig c = config;
  c.arn = impl.arn(ArnKind::kEndpointConfig, c.name);
  c.created_at = impl.now();
  Stmt s(impl.db,
         "INSERT INTO endpoint_configs (name, arn, production_variants, created_at) "
         "VALUES (?, ?, ?, ?)",
         "inserting endpoint configuration");
  s.bind(c.name).bind(c.arn).bind(c.production_variants_json).bind(c.created_at);
  if (auto st = s.run(); !st) return st.error();
  if (auto st = txn.commit(); !st) return st.error();
  return c;
}

StoreResult<EndpointConfig> Store::get_endpoint_config(std::string_view name) const {
  std::lock_guard lock(impl_->mu);
  return get_row<EndpointConfig>(*impl_, kConfigKind, name, read_config);
}

StoreResult<Page<EndpointConfig>> Store::list_endpoint_configs(const ListQuery& query) const {
  std::lock_guard lock(impl_->mu);
  return list_rows<EndpointConfig>(*impl_, kConfigKind, query, read_config);
}

StoreStatus Store::delete_endpoint_config(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  return delete_row(*impl_, kConfigKind, name);
}

// --- Endpoints -------------------------------------------------------------

StoreResult<Endpoint> Store::create_endpoint(std::string_view name, std::string_view config_name) {
  detail::StoreState& impl = *impl_;
  std::lock_guard lock(impl.mu);
  if (auto st = check_name(kEndpointKind, name); !st) return st.error();
  if (auto st = check_name(kConfigKind, config_name); !st) return st.error();
  Txn txn(impl.db);
  if (auto st = txn.begin(); !st) return st.error();
  auto taken = exists(impl, kEndpointKind, name);
  if (!taken) return taken.error();
  if (*taken) return already_exists(impl, kEndpointKind, name);
  auto config = exists(impl, kConfigKind, config_name);
  if (!config) return config.error();
  if (!*config) return not_found(impl, kConfigKind, config_name);
  Endpoint e;
  e.name = name;
  e.arn = impl.arn(ArnKind::kEndpoint, name);
  e.config_name = config_name;
  e.status = EndpointStatus::kCreating;
  e.created_at = e.last_modified_at = impl.now();
  Stmt s(impl.db,
         "INSERT INTO endpoints (name, arn, config_name, status, failure_reason, created_at, "
         "last_modified_at) VALUES (?, ?, ?, ?, NULL, ?, ?)",
         "inserting endpoint");
  s.bind(e.name).bind(e.arn).bind(e.config_name).bind(to_string(e.status));
  s.bind(e.created_at).bind(e.last_modified_at);
  if (auto st = s.run(); !st) return st.error();
  if (auto st = txn.commit(); !st) return st.error();
  return e;
}

StoreResult<Endpoint> Store::get_endpoint(std::string_view name) const {
  std::lock_guard lock(impl_->mu);
  return get_row<Endpoint>(*impl_, kEndpointKind, name, read_endpoint);
}

StoreResult<Page<Endpoint>> Store::list_endpoints(const ListQuery& query) const {
  std::lock_guard lock(impl_->mu);
  return list_rows<Endpoint>(*impl_, kEndpointKind, query, read_endpoint);
}

StoreStatus Store::delete_endpoint(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  return delete_row(*impl_, kEndpointKind, name);
}

namespace {

// One UPDATE of an existing endpoint's row (`sql` binds its values through
// `bind`, then the name), returning the row as written.
template <class Bind>
StoreResult<Endpoint> update_endpoint_row(detail::StoreState& impl, std::string_view name,
                                          const char* sql, const char* what, Bind bind) {
  if (auto st = check_name(kEndpointKind, name); !st) return st.error();
  Txn txn(impl.db);
  if (auto st = txn.begin(); !st) return st.error();
  Stmt s(impl.db, sql, what);
  bind(s);
  s.bind(name);
  if (auto st = s.run(); !st) return st.error();
  if (sqlite3_changes(impl.db) == 0) return not_found(impl, kEndpointKind, name);
  auto e = get_row<Endpoint>(impl, kEndpointKind, name, read_endpoint);
  if (!e) return e;
  if (auto st = txn.commit(); !st) return st.error();
  return e;
}

}  // namespace

StoreResult<Endpoint> Store::set_endpoint_status(std::string_view name, EndpointStatus status,
                                                 std::string_view failure_reason) {
  detail::StoreState& impl = *impl_;
  std::lock_guard lock(impl.mu);
  std::string reason;
  if (status == EndpointStatus::kFailed) {
    reason = failure_reason.empty() ? "Unknown failure." : std::string(failure_reason);
  }
  return update_endpoint_row(
      impl, name,
      "UPDATE endpoints SET status = ?, failure_reason = ?, last_modified_at = ? WHERE name = ?",
      "updating endpoint status",
      [&](Stmt& s) { s.bind(to_string(status)).bind_or_null(reason).bind(impl.now()); });
}

StoreResult<Endpoint> Store::update_endpoint_config(std::string_view name,
                                                    std::string_view config_name) {
  detail::StoreState& impl = *impl_;
  std::lock_guard lock(impl.mu);
  if (auto st = check_name(kConfigKind, config_name); !st) return st.error();
  Txn txn(impl.db);
  if (auto st = txn.begin(); !st) return st.error();
  auto current = get_row<Endpoint>(impl, kEndpointKind, name, read_endpoint);
  if (!current) return current;
  auto config = exists(impl, kConfigKind, config_name);
  if (!config) return config.error();
  if (!*config) return not_found(impl, kConfigKind, config_name);
  if (current->status != EndpointStatus::kInService && current->status != EndpointStatus::kFailed) {
    return store_error(StoreErrc::kInvalidState,
                       "Cannot update in-progress endpoint \"" + current->arn + "\".");
  }
  Stmt s(impl.db,
         "UPDATE endpoints SET config_name = ?, status = 'Updating', failure_reason = NULL, "
         "last_modified_at = ? WHERE name = ?",
         "updating endpoint");
  s.bind(config_name).bind(impl.now()).bind(name);
  if (auto st = s.run(); !st) return st.error();
  auto e = get_row<Endpoint>(impl, kEndpointKind, name, read_endpoint);
  if (!e) return e;
  if (auto st = txn.commit(); !st) return st.error();
  return e;
}

StoreResult<Endpoint> Store::roll_back_endpoint(std::string_view name, std::string_view config_name,
                                                std::string_view failure_reason) {
  detail::StoreState& impl = *impl_;
  std::lock_guard lock(impl.mu);
  return update_endpoint_row(
      impl, name,
      "UPDATE endpoints SET config_name = ?, status = 'InService', failure_reason = ?, "
      "last_modified_at = ? WHERE name = ?",
      "rolling back endpoint",
      [&](Stmt& s) { s.bind(config_name).bind(failure_reason).bind(impl.now()); });
}

StoreResult<RepairResult> Store::repair_after_restart() {
  detail::StoreState& impl = *impl_;
  std::lock_guard lock(impl.mu);
  Txn txn(impl.db);
  if (auto st = txn.begin(); !st) return st.error();
  RepairResult result;
  {
    Stmt s(impl.db, "DELETE FROM endpoints WHERE status = 'Deleting' RETURNING name",
           "removing endpoints left in Deleting");
    for (;;) {
      auto row = s.step();
      if (!row) return row.error();
      if (!*row) break;
      result.deleted.push_back(s.text(0));
    }
  }
  {
    Stmt s(impl.db,
           "UPDATE endpoints SET status = 'Creating', failure_reason = NULL, last_modified_at = ? "
           "WHERE status = 'InService'",
           "marking endpoints to reload");
    s.bind(impl.now());
    if (auto st = s.run(); !st) return st.error();
  }
  Stmt s(impl.db,
         std::string("SELECT ") + kEndpointKind.columns +
             " FROM endpoints WHERE status IN ('Creating', 'Updating') ORDER BY created_at, name",
         "listing endpoints to reload");
  for (;;) {
    auto row = s.step();
    if (!row) return row.error();
    if (!*row) break;
    result.to_load.push_back(read_endpoint(s));
  }
  if (auto st = txn.commit(); !st) return st.error();
  return result;
}

}  // namespace quarry::store
