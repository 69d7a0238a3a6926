// What the writers need to know about a tensor before its bytes exist.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "formats/tensor.h"

namespace quarry::formats {

struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;  // row-major, outermost first
};

// Produces a tensor's bytes into `out` (exactly its size) when a writer gets to
// it, so a writer never has to hold more than one tensor in memory.
using TensorFiller = std::function<Status(std::span<uint8_t> out)>;

// Called as bytes of tensor data are written: (bytes done, bytes in total).
using WriteProgress = std::function<void(uint64_t done, uint64_t total)>;

}  // namespace quarry::formats
