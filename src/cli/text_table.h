// A markdown table as llama-bench prints it: a header row, a separator row
// (":" on the right of right-aligned columns), cells padded to the widest in
// their column by display width (UTF-8 code points, so "±" counts one).
#pragma once

#include <string>
#include <vector>

namespace quarry::cli {

// rows[0] is the header; `left[i]` left-aligns column i (text), the others
// are right-aligned (numbers). Rows shorter than the header are not allowed.
std::string markdown_table(const std::vector<std::vector<std::string>>& rows,
                           const std::vector<bool>& left);

}  // namespace quarry::cli
