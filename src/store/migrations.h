// Internal to the store: the schema, as an ordered list of migration steps.
// PRAGMA user_version records how many steps a file has had. Each step runs
// in its own transaction together with the user_version bump, so a crash
// leaves the file at the previous version, never half-migrated.
//
// To change the schema, append a step (never edit a released one).
#pragma once

#include <sqlite3.h>

#include <span>
#include <string_view>

#include "store/errors.h"

namespace quarry::store::detail {

struct Migration {
  int version;      // user_version after this step: 1, 2, ...
  const char* sql;  // one or more statements
};

std::span<const Migration> migrations();

// PRAGMA application_id of quarry files ('Qrry'), so a stranger's SQLite
// file is refused rather than having quarry's tables added to it.
inline constexpr int kApplicationId = 0x51727279;

// Brings the database up to the last of `steps` (tests pass their own).
// `where` names the file in messages. kTooNew if the file is ahead of this
// build; kCorrupt if it is a SQLite file that belongs to something else.
StoreStatus migrate(sqlite3* db, std::string_view where,
                    std::span<const Migration> steps = migrations());

}  // namespace quarry::store::detail
