#include "formats/model_files.h"

#include <filesystem>
#include <fstream>

#include "formats/gguf.h"
#include "formats/hf_checkpoint.h"
#include "formats/safetensors.h"

namespace quarry::formats {

Result<ModelFileKind> detect_model_files(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    return make_error(path + ": no such file or directory");
  if (std::filesystem::is_directory(status)) return ModelFileKind::kHfDirectory;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (!in.read(magic, 4)) return ModelFileKind::kSafetensors;  // too short: its reader says so
  return std::string_view(magic, 4) == "GGUF" ? ModelFileKind::kGguf : ModelFileKind::kSafetensors;
}

Result<std::unique_ptr<TensorSource>> open_tensor_source(const std::string& path) {
  auto kind = detect_model_files(path);
  if (!kind.ok()) return kind.error();
  switch (*kind) {
    case ModelFileKind::kHfDirectory: {
      auto ck = HfCheckpoint::open(path);
      if (!ck.ok()) return ck.error();
      return std::unique_ptr<TensorSource>(new HfCheckpoint(std::move(ck).value()));
    }
    case ModelFileKind::kGguf: {
      auto g = GgufFile::open(path);
      if (!g.ok()) return g.error();
      return std::unique_ptr<TensorSource>(new GgufFile(std::move(g).value()));
    }
    case ModelFileKind::kSafetensors:
      break;
  }
  auto st = SafetensorsFile::open(path);
  if (!st.ok()) return st.error();
  return std::unique_ptr<TensorSource>(new SafetensorsFile(std::move(st).value()));
}

}  // namespace quarry::formats
