#include "cli/text_table.h"

#include <algorithm>
#include <sstream>

namespace quarry::cli {
namespace {

// Code points: every byte that is not a UTF-8 continuation byte.
size_t display_width(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string markdown_table(const std::vector<std::vector<std::string>>& rows,
                           const std::vector<bool>& left) {
  if (rows.empty()) return "";
  std::vector<size_t> width(rows[0].size(), 1);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], display_width(row[i]));
  }
  auto is_left = [&](size_t i) { return i < left.size() && left[i]; };
  std::ostringstream o;
  for (size_t k = 0; k < rows.size(); ++k) {
    o << "|";
    for (size_t i = 0; i < rows[k].size(); ++i) {
      const std::string& cell = rows[k][i];
      const std::string pad(width[i] - display_width(cell), ' ');
      o << " " << (is_left(i) ? cell + pad : pad + cell) << " |";
    }
    o << "\n";
    if (k == 0) {
      o << "|";
      for (size_t i = 0; i < width.size(); ++i) {
        o << " " << std::string(width[i] - 1, '-') << (is_left(i) ? "-" : ":") << " |";
      }
      o << "\n";
    }
  }
  return o.str();
}

}  // namespace quarry::cli
