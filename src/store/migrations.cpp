#include "store/migrations.h"

#include <string>

#include "store/sqlite_util.h"

namespace quarry::store::detail {

namespace {

// v1: everything. Names use NOCASE because SageMaker names are
// case-insensitive (their ARNs are lower-cased). Empty optional strings are
// stored as NULL.
constexpr const char* kV1 = R"sql(
CREATE TABLE models (
  name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
  arn TEXT NOT NULL,
  primary_container TEXT NOT NULL,
  environment TEXT NOT NULL,
  hf_model_id TEXT,
  model_data_url TEXT,
  execution_role_arn TEXT,
  created_at REAL NOT NULL
);
CREATE TABLE endpoint_configs (
  name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
  arn TEXT NOT NULL,
  production_variants TEXT NOT NULL,
  created_at REAL NOT NULL
);
CREATE TABLE endpoints (
  name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
  arn TEXT NOT NULL,
  config_name TEXT NOT NULL COLLATE NOCASE,
  status TEXT NOT NULL
    CHECK (status IN ('Creating', 'InService', 'Updating', 'Failed', 'Deleting')),
  failure_reason TEXT,
  created_at REAL NOT NULL,
  last_modified_at REAL NOT NULL
);
CREATE TABLE access_keys (
  access_key_id TEXT NOT NULL PRIMARY KEY,
  secret TEXT,
  description TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL,
  revoked_at REAL
);
CREATE TABLE api_keys (
  id TEXT NOT NULL PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL,
  revoked_at REAL
);
CREATE INDEX api_keys_by_prefix ON api_keys (prefix);
CREATE TABLE usage (
  principal TEXT NOT NULL,
  model TEXT NOT NULL,
  requests INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens INTEGER NOT NULL DEFAULT 0,
  first_used_at REAL NOT NULL,
  last_used_at REAL NOT NULL,
  PRIMARY KEY (principal, model)
);
)sql";

constexpr Migration kMigrations[] = {
    {1, kV1},
};

StoreResult<int> read_pragma_int(sqlite3* db, const char* pragma) {
  Stmt s(db, std::string("PRAGMA ") + pragma, std::string("reading ") + pragma);
  auto row = s.step();
  if (!row) return row.error();
  return *row ? static_cast<int>(s.int64(0)) : 0;
}

StoreStatus apply(sqlite3* db, const Migration& m, std::string_view where) {
  Txn txn(db);
  if (auto st = txn.begin(); !st) return st;
  // Read the version again under the write lock: another process may have
  // migrated the file between our first look and now.
  auto version = read_pragma_int(db, "user_version");
  if (!version) return version.error();
  if (*version >= m.version) return txn.commit();
  const std::string what =
      "migrating " + std::string(where) + " to schema version " + std::to_string(m.version);
  if (auto st = exec(db, m.sql, what); !st) return st;
  // PRAGMAs take no parameters; the values are integers we control.
  const std::string bump = "PRAGMA user_version = " + std::to_string(m.version) +
                           "; PRAGMA application_id = " + std::to_string(kApplicationId) + ";";
  if (auto st = exec(db, bump.c_str(), what); !st) return st;
  return txn.commit();
}

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

StoreStatus migrate(sqlite3* db, std::string_view where, std::span<const Migration> steps) {
  auto app_id = read_pragma_int(db, "application_id");
  if (!app_id) return app_id.error();
  auto version = read_pragma_int(db, "user_version");
  if (!version) return version.error();
  const int latest = steps.empty() ? 0 : steps.back().version;
  if (*app_id != 0 && *app_id != kApplicationId) {
    return store_error(StoreErrc::kCorrupt, std::string(where) +
                                                ": a SQLite database of another application "
                                                "(application_id " +
                                                std::to_string(*app_id) + "), not quarry's");
  }
  if (*version > latest) {
    return store_error(StoreErrc::kTooNew,
                       std::string(where) + ": schema version " + std::to_string(*version) +
                           " was written by a newer quarry; this build reads versions up to " +
                           std::to_string(latest) +
                           ". Upgrade quarry, or use another data directory (QUARRY_DATA_DIR).");
  }
  if (*version == 0) {
    // A new file is empty. Tables in a file without our version are someone
    // else's database; adding ours to it would mix the two.
    Stmt s(db, "SELECT count(*) FROM sqlite_schema", "reading the schema");
    auto row = s.step();
    if (!row) return row.error();
    if (s.int64(0) != 0) {
      return store_error(StoreErrc::kCorrupt,
                         std::string(where) +
                             ": a SQLite database that is not quarry's (it has tables but no "
                             "quarry schema version)");
    }
  }
  for (const Migration& m : steps) {
    if (m.version <= *version) continue;
    if (auto st = apply(db, m, where); !st) return st;
  }
  return StoreStatus::Ok();
}

}  // namespace quarry::store::detail
