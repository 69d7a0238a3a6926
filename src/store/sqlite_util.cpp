#include "store/sqlite_util.h"

namespace quarry::store::detail {

StoreError sqlite_error(sqlite3* db, int rc, std::string_view what) {
  StoreErrc code = StoreErrc::kDatabase;
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      code = StoreErrc::kCorrupt;
      break;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_FULL:
      code = StoreErrc::kIo;
      break;
    case SQLITE_CONSTRAINT:
      code = (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
                 ? StoreErrc::kAlreadyExists
                 : StoreErrc::kInvalidArgument;
      break;
    default:
      break;
  }
  // sqlite3_errmsg describes the connection's latest failure, which is this
  // one; without a connection only the generic text of the code is known.
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return store_error(code, "store: " + std::string(what) + ": " + detail);
}

StoreStatus exec(sqlite3* db, const char* sql, std::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
  return StoreStatus::Ok();
}

Stmt::Stmt(sqlite3* db, std::string_view sql, std::string_view what) : db_(db), what_(what) {
  rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(std::string_view value) {
  if (rc_ == SQLITE_OK) {
    // SQLITE_TRANSIENT: SQLite copies the bytes, so temporaries are safe.
    rc_ = sqlite3_bind_text64(stmt_, next_, value.data(), value.size(), SQLITE_TRANSIENT,
                              SQLITE_UTF8);
  }
  ++next_;
  return *this;
}

Stmt& Stmt::bind(double value) {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_double(stmt_, next_, value);
  ++next_;
  return *this;
}

Stmt& Stmt::bind(int64_t value) {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, next_, value);
  ++next_;
  return *this;
}

Stmt& Stmt::bind_null() {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_null(stmt_, next_);
  ++next_;
  return *this;
}

Stmt& Stmt::bind_or_null(std::string_view value) {
  return value.empty() ? bind_null() : bind(value);
}

Stmt& Stmt::bind_or_null(std::optional<double> value) { return value ? bind(*value) : bind_null(); }

StoreResult<bool> Stmt::step() {
  if (rc_ != SQLITE_OK) return sqlite_error(db_, rc_, what_);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  rc_ = rc;
  return sqlite_error(db_, rc, what_);
}

StoreStatus Stmt::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) return StoreStatus::Ok();
  }
}

std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

double Stmt::real(int col) const { return sqlite3_column_double(stmt_, col); }

int64_t Stmt::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::optional<double> Stmt::opt_real(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  return real(col);
}

Txn::~Txn() {
  if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

StoreStatus Txn::begin() {
  auto st = exec(db_, "BEGIN IMMEDIATE", "beginning a transaction");
  open_ = st.ok();
  return st;
}

StoreStatus Txn::commit() {
  auto st = exec(db_, "COMMIT", "committing a transaction");
  // A failed COMMIT leaves the transaction open; the destructor rolls back.
  if (st.ok()) open_ = false;
  return st;
}

}  // namespace quarry::store::detail
