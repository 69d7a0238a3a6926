#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "cli/commands.h"
#include "formats/gguf.h"

namespace quarry::cli {
namespace fs = std::filesystem;

namespace {
fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}
bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

// The vocabulary embedded in a GGUF model file (tokenizer.ggml.*).
Result<tokenizer::Tokenizer> load_gguf_tokenizer(const std::string& path) {
  auto gguf = formats::GgufFile::open(path);
  if (!gguf.ok()) return gguf.error();
  auto pre = gguf->get_string("tokenizer.ggml.pre");
  if (!pre.ok()) return pre.error();
  auto tokens = gguf->get_string_array("tokenizer.ggml.tokens");
  if (!tokens.ok()) return tokens.error();
  return tokenizer::Tokenizer::from_gguf_tokens(tokens.value(), pre.value(), path);
}

Result<tokenizer::Tokenizer> load_any(const std::string& path) {
  if (is_gguf_file(path)) return load_gguf_tokenizer(path);
  return tokenizer::Tokenizer::load(path);
}

}  // namespace

Result<tokenizer::Tokenizer> load_tokenizer(const std::string& path) {
  if (!path.empty()) return load_any(path);
  if (const char* env = std::getenv("QUARRY_TOKENIZER"); env && *env) return load_any(env);
  const fs::path installed = executable_dir() / ".." / "share" / "quarry" / "o200k_base.tiktoken";
  std::error_code ec;
  if (fs::exists(installed, ec)) return tokenizer::Tokenizer::load(installed.string());
  return make_error(
      "no tokenizer: pass --tokenizer PATH (a tiktoken rank file, a tokenizer.json or a model "
      "directory) or set QUARRY_TOKENIZER");
}

Result<tokenizer::Tokenizer> model_tokenizer(const std::string& model,
                                             const std::string& tokenizer_path) {
  if (!tokenizer_path.empty()) return load_tokenizer(tokenizer_path);
  std::error_code ec;
  if (fs::is_directory(model, ec)) {
    if (fs::exists(fs::path(model) / "tokenizer.json", ec))
      return tokenizer::Tokenizer::load(model);
  } else if (is_gguf_file(model)) {
    auto gguf = formats::GgufFile::open(model);
    if (gguf.ok() && gguf->has("tokenizer.ggml.tokens")) return load_gguf_tokenizer(model);
  }
  return load_tokenizer("");
}

}  // namespace quarry::cli
