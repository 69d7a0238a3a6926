// Internal to the store: a thin RAII layer over the SQLite C API (prepared
// statements with positional binding, transactions, error mapping). Not for
// use outside src/store.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/errors.h"

namespace quarry::store::detail {

// Maps a SQLite result code to a StoreError whose message says what we were
// doing ("inserting model") and what SQLite said.
StoreError sqlite_error(sqlite3* db, int rc, std::string_view what);

// Runs SQL without results (several statements allowed).
StoreStatus exec(sqlite3* db, const char* sql, std::string_view what);

// One prepared statement. Parameters are bound in order with bind*(); a
// failure to prepare or bind is kept and reported by the next step().
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql, std::string_view what);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(std::string_view value);
  Stmt& bind(double value);
  Stmt& bind(int64_t value);
  Stmt& bind_null();
  Stmt& bind_or_null(std::string_view value);  // "" binds NULL
  Stmt& bind_or_null(std::optional<double> value);

  // true: a row is ready to read; false: done.
  StoreResult<bool> step();
  // Steps to the end, for statements without result rows.
  StoreStatus run();

  std::string text(int col) const;  // NULL reads as ""
  double real(int col) const;
  int64_t int64(int col) const;
  std::optional<double> opt_real(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string what_;
  int rc_ = SQLITE_OK;  // first prepare/bind error
  int next_ = 1;        // next parameter index
};

// BEGIN IMMEDIATE ... COMMIT; rolls back if destroyed before commit().
// IMMEDIATE takes the write lock up front, so a read-check-write sequence
// cannot be interleaved with another process writing the same file.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) {}
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  StoreStatus begin();
  StoreStatus commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace quarry::store::detail
