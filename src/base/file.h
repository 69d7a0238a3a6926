// Whole-file reads with precise errors.
#pragma once

#include <string>

#include "base/result.h"

namespace quarry {

// Reads the whole file; the error names the path and the OS reason.
Result<std::string> read_file(const std::string& path);

}  // namespace quarry
