#include "model/gpt_oss_model.h"

#include <algorithm>
#include <filesystem>

#include "base/mapped_file.h"
#include "formats/gguf.h"
#include "formats/model_files.h"
#include "formats/mxfp4.h"

namespace quarry::model {

Result<std::unique_ptr<GptOssModel>> GptOssModel::create(
    GptOssConfig config, std::unique_ptr<formats::TensorSource> source) {
  auto weights = bind_weights(config, *source);
  if (!weights.ok()) return weights.error();
  std::unique_ptr<GptOssModel> m(new GptOssModel());
  m->config_ = std::move(config);
  m->source_ = std::move(source);
  m->weights_ = std::move(weights.value());
  return m;
}

Status GptOssModel::bring_in(Residency how) const {
  for (const std::string& name : source_->names()) {
    const formats::TensorInfo* t = source_->find(name);
    if (t == nullptr || std::find(dropped_.begin(), dropped_.end(), t->data) != dropped_.end()) {
      continue;
    }
    const Status st = how == Residency::kNow      ? populate_range(t->data, t->nbytes)
                      : how == Residency::kLocked ? lock_range(t->data, t->nbytes)
                                                  : willneed_range(t->data, t->nbytes);
    if (!st.ok()) return make_error(t->file + ": tensor " + name + ": " + st.message());
  }
  return Status::Ok();
}

Result<std::unique_ptr<GptOssModel>> load_model(const std::string& path) {
  auto kind = formats::detect_model_files(path);
  if (!kind.ok()) return kind.error();
  if (*kind == formats::ModelFileKind::kGguf) {
    auto g = formats::GgufFile::open(path);
    if (!g.ok()) return g.error();
    auto config = config_from_gguf(*g);
    if (!config.ok()) return config.error();
    return GptOssModel::create(std::move(config.value()),
                               std::make_unique<formats::GgufFile>(std::move(g.value())));
  }
  // A directory, or a lone .safetensors file with config.json beside it.
  const std::string dir = *kind == formats::ModelFileKind::kHfDirectory
                              ? path
                              : std::filesystem::path(path).parent_path().string();
  auto config = load_hf_config(dir.empty() ? "." : dir);
  if (!config.ok()) return config.error();
  auto source = formats::open_tensor_source(path);
  if (!source.ok()) return source.error();
  return GptOssModel::create(std::move(config.value()), std::move(source.value()));
}

Status check_expert_scales(const GptOssModel& m) {
  Status st = Status::Ok();
  const WeightFormat format = m.weights().format;
  for_each_tensor(m.config(), format, [&](const WeightSpec& s) {
    if (!st.ok()) return;
    const formats::TensorInfo* t = m.source().find(s.name);
    if (t == nullptr) return;  // bind_weights has already checked the list
    if (s.role == TensorRole::kGateUpScales || s.role == TensorRole::kDownScales) {
      st = formats::mxfp4_check_hf_scales(*t);
    } else if (s.kind == TensorKind::kMxfp4) {
      st = formats::mxfp4_check_ggml_scales(*t);
    }
  });
  return st;
}

}  // namespace quarry::model
