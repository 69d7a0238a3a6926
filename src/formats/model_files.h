// Opens whatever a user points quarry at: an HF model directory, a single
// .safetensors file or a GGUF file, as one TensorSource.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "formats/tensor.h"

namespace quarry::formats {

enum class ModelFileKind { kHfDirectory, kSafetensors, kGguf };

// A directory is an HF checkpoint; a file starting with "GGUF" is GGUF; any
// other file is read as safetensors.
Result<ModelFileKind> detect_model_files(const std::string& path);

Result<std::unique_ptr<TensorSource>> open_tensor_source(const std::string& path);

}  // namespace quarry::formats
