#include "store/data_dir.h"

#include <cstdlib>

namespace quarry::store {

namespace {

// getenv, with "" treated as unset (as the XDG spec asks for its variables).
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && v[0] != '\0') ? v : nullptr;
}

}  // namespace

Result<std::filesystem::path> default_data_dir() {
  if (const char* dir = env("QUARRY_DATA_DIR")) return std::filesystem::path(dir);
  if (const char* xdg = env("XDG_DATA_HOME")) {
    std::filesystem::path p(xdg);
    if (p.is_absolute()) return p / "quarry";
  }
  if (const char* home = env("HOME")) {
    return std::filesystem::path(home) / ".local" / "share" / "quarry";
  }
  return make_error(
      "cannot choose a data directory: set QUARRY_DATA_DIR (or XDG_DATA_HOME or HOME)");
}

Result<std::filesystem::path> default_db_path() {
  auto dir = default_data_dir();
  if (!dir) return dir.error();
  return dir.value() / kDbFileName;
}

}  // namespace quarry::store
