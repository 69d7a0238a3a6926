// Errors of the control-plane store. Like base/result.h, but each error also
// carries a code, because the API layer answers "not found" and "already
// exists" with different AWS errors while passing the message through as is.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/result.h"

namespace quarry::store {

enum class StoreErrc {
  kNotFound,         // no such model / config / endpoint / key
  kAlreadyExists,    // create_* with a name or id that is taken
  kInvalidArgument,  // bad name, bad list query, bad key format
  kInvalidState,     // the record exists but the operation does not fit its status
  kCorrupt,          // the file is not a SQLite database, or not a quarry one, or damaged
  kTooNew,           // the file was written by a newer quarry (schema version too high)
  kIo,               // cannot create or open the file or its directory
  kDatabase,         // any other SQLite failure (disk full, busy past the timeout, ...)
};

// "NotFound", "AlreadyExists", ... (for logs and tests).
std::string_view to_string(StoreErrc code);

struct StoreError {
  StoreErrc code;
  // Ready to show: for the SageMaker resources it is AWS's own wording, e.g.
  // `Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/foo".`
  std::string message;

  // For callers that only propagate a message (functions returning Result<T>).
  Error as_error() const { return Error{message}; }
};

inline StoreError store_error(StoreErrc code, std::string message) {
  return StoreError{code, std::move(message)};
}

// A value or a StoreError; the same shape as quarry::Result<T>, so
// QUARRY_ASSIGN works inside functions that return StoreResult/StoreStatus.
template <class T>
class [[nodiscard]] StoreResult {
 public:
  StoreResult(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  StoreResult(StoreError error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const StoreError& error() const { return std::get<1>(v_); }
  StoreErrc code() const { return error().code; }
  const std::string& message() const { return error().message; }

 private:
  std::variant<T, StoreError> v_;
};

// Success, or a StoreError, for operations without a value.
class [[nodiscard]] StoreStatus {
 public:
  StoreStatus() = default;
  StoreStatus(StoreError error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  static StoreStatus Ok() { return StoreStatus(); }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const StoreError& error() const { return error_; }
  StoreErrc code() const { return error_.code; }
  const std::string& message() const { return error_.message; }

 private:
  StoreError error_{StoreErrc::kDatabase, ""};
  bool ok_ = true;
};

}  // namespace quarry::store
