#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "cli/commands.h"

namespace quarry::cli {
namespace fs = std::filesystem;

namespace {
fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}
}  // namespace

Result<tokenizer::Tokenizer> load_tokenizer(const std::string& path) {
  if (!path.empty()) return tokenizer::Tokenizer::load(path);
  if (const char* env = std::getenv("QUARRY_TOKENIZER"); env && *env) {
    return tokenizer::Tokenizer::load(env);
  }
  const fs::path installed = executable_dir() / ".." / "share" / "quarry" / "o200k_base.tiktoken";
  std::error_code ec;
  if (fs::exists(installed, ec)) return tokenizer::Tokenizer::load(installed.string());
  return make_error(
      "no tokenizer: pass --tokenizer PATH (a tiktoken rank file, a tokenizer.json or a model "
      "directory) or set QUARRY_TOKENIZER");
}

}  // namespace quarry::cli
