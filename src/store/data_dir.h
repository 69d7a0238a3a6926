// Where quarry keeps its control-plane database by default.
#pragma once

#include <filesystem>

#include "base/result.h"

namespace quarry::store {

// $QUARRY_DATA_DIR if set and non-empty; else $XDG_DATA_HOME/quarry if
// XDG_DATA_HOME is an absolute path (the XDG spec says to ignore relative
// ones); else $HOME/.local/share/quarry. An error only when none of these
// variables is usable.
Result<std::filesystem::path> default_data_dir();

// default_data_dir() / "quarry.db".
Result<std::filesystem::path> default_db_path();

inline constexpr const char* kDbFileName = "quarry.db";

}  // namespace quarry::store
