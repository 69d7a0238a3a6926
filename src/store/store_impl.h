// Internal to the store: the state behind Store, shared by store.cpp (open,
// lifecycle), resources.cpp (SageMaker records) and keys.cpp (keys, usage).
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <mutex>
#include <string>

#include "store/store.h"

namespace quarry::store::detail {

// The state behind a Store.
struct StoreState {
  sqlite3* db = nullptr;
  // Guards `db`: a SQLite connection must not run two statements from two
  // threads at once, and our read-check-write sequences must not interleave.
  mutable std::mutex mu;
  StoreOptions options;
  std::string where;  // the file, for messages

  ~StoreState() { sqlite3_close_v2(db); }

  double now() const;
  std::string arn(ArnKind kind, std::string_view name) const {
    return sagemaker_arn(options.region, options.account, kind, name);
  }
};

}  // namespace quarry::store::detail
