#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include "store/migrations.h"
#include "store/sqlite_util.h"
#include "store/store_impl.h"

namespace quarry::store {

using detail::Stmt;

std::string_view to_string(StoreErrc code) {
  switch (code) {
    case StoreErrc::kNotFound:
      return "NotFound";
    case StoreErrc::kAlreadyExists:
      return "AlreadyExists";
    case StoreErrc::kInvalidArgument:
      return "InvalidArgument";
    case StoreErrc::kInvalidState:
      return "InvalidState";
    case StoreErrc::kCorrupt:
      return "Corrupt";
    case StoreErrc::kTooNew:
      return "TooNew";
    case StoreErrc::kIo:
      return "Io";
    case StoreErrc::kDatabase:
      return "Database";
  }
  return "Unknown";
}

double detail::StoreState::now() const {
  if (options.clock) return options.clock();
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(since_epoch).count();
}

namespace {

StoreError io_error(const std::string& what, const std::string& path, int err) {
  return store_error(StoreErrc::kIo, "store: " + what + " " + path + ": " + std::strerror(err));
}

// Creates the parent directory (0700: the database holds secrets) and the
// file itself with mode 0600 before SQLite sees it. SQLite would create the
// file 0644 (less the umask); its -wal and -shm files copy the main file's
// mode, so setting it here covers all three.
StoreStatus prepare_file(const std::filesystem::path& path) {
  const std::filesystem::path parent = path.parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    const bool created = std::filesystem::create_directories(parent, ec);
    if (ec) return io_error("cannot create directory", parent.string(), ec.value());
    if (created) {
      std::filesystem::permissions(parent, std::filesystem::perms::owner_all, ec);
    }
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot open", path.string(), errno);
  struct stat st {};
  int err = 0;
  if (::fstat(fd, &st) != 0) {
    err = errno;
  } else if (!S_ISREG(st.st_mode)) {
    err = EINVAL;
  } else if ((st.st_mode & 077) != 0 && ::fchmod(fd, 0600) != 0) {
    err = errno;
  }
  ::close(fd);
  if (err == EINVAL) {
    return store_error(StoreErrc::kIo, "store: " + path.string() + " is not a regular file");
  }
  if (err != 0) return io_error("cannot set mode 0600 on", path.string(), err);
  return StoreStatus::Ok();
}

StoreResult<std::string> query_text(sqlite3* db, const char* sql, std::string_view what) {
  Stmt s(db, sql, what);
  auto row = s.step();
  if (!row) return row.error();
  return *row ? s.text(0) : std::string();
}

// Connection settings, then the schema. The first statement is the first
// read of the file, so this is where a non-SQLite file is detected.
StoreStatus configure(sqlite3* db, bool on_disk, const std::string& where) {
  sqlite3_extended_result_codes(db, 1);
  // Another process (a CLI command next to the server) may hold the write
  // lock briefly; wait for it rather than failing at once.
  sqlite3_busy_timeout(db, 5000);
  auto check = detail::exec(db, "PRAGMA foreign_keys = ON; SELECT count(*) FROM sqlite_schema;",
                            "opening " + where);
  if (!check) {
    if (check.code() == StoreErrc::kCorrupt) {
      return store_error(StoreErrc::kCorrupt, "store: " + where + " is not a quarry database (" +
                                                  sqlite3_errmsg(db) +
                                                  "); move it away or choose another path");
    }
    return check;
  }
  if (on_disk) {
    auto mode = query_text(db, "PRAGMA journal_mode = WAL", "enabling WAL on " + where);
    if (!mode) return mode.error();
    if (*mode != "wal") {
      return store_error(StoreErrc::kDatabase,
                         "store: " + where + ": cannot enable WAL (journal mode is " + *mode + ")");
    }
  }
  // In WAL mode NORMAL loses nothing when the process dies, only possibly the
  // last commits on power loss, and it saves an fsync per write (usage rows
  // are written on every request). secure_delete zeroes deleted content, so
  // wiped secrets do not linger in free pages.
  if (auto st = detail::exec(db, "PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;",
                             "configuring " + where);
      !st) {
    return st;
  }
  return detail::migrate(db, where);
}

StoreResult<std::unique_ptr<detail::StoreState>> open_impl(const std::string& sqlite_path,
                                                           bool on_disk, StoreOptions options) {
  auto impl = std::make_unique<detail::StoreState>();
  impl->options = std::move(options);
  impl->where = on_disk ? sqlite_path : std::string("the in-memory store");
  // NOMUTEX: StoreState::mu already serialises every use of the connection.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(sqlite_path.c_str(), &impl->db, flags, nullptr);
  if (rc != SQLITE_OK) return detail::sqlite_error(impl->db, rc, "opening " + impl->where);
  if (auto st = configure(impl->db, on_disk, impl->where); !st) return st.error();
  return impl;
}

}  // namespace

Store::Store(std::unique_ptr<detail::StoreState> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

StoreResult<Store> Store::open(const std::filesystem::path& path, StoreOptions options) {
  if (path.empty()) return store_error(StoreErrc::kInvalidArgument, "store: empty database path");
  if (auto st = prepare_file(path); !st) return st.error();
  auto impl = open_impl(path.string(), true, std::move(options));
  if (!impl) return impl.error();
  return Store(std::move(impl.value()));
}

StoreResult<Store> Store::open_memory(StoreOptions options) {
  auto impl = open_impl(":memory:", false, std::move(options));
  if (!impl) return impl.error();
  return Store(std::move(impl.value()));
}

int Store::latest_schema_version() { return detail::migrations().back().version; }

StoreResult<int> Store::schema_version() const {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "PRAGMA user_version", "reading the schema version");
  auto row = s.step();
  if (!row) return row.error();
  return static_cast<int>(s.int64(0));
}

const std::string& Store::region() const { return impl_->options.region; }
const std::string& Store::account() const { return impl_->options.account; }

std::string Store::arn(ArnKind kind, std::string_view name) const { return impl_->arn(kind, name); }

}  // namespace quarry::store
