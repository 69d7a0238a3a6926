// Cheap whole-tensor sanity checks a loader can run on small tensors (norms,
// biases, sinks) or, when the time is worth it, on everything.
#pragma once

#include "base/result.h"
#include "formats/tensor.h"

namespace quarry::formats {

// Every value is finite: no NaN or infinity in F32/F16/BF16/F64 data, no
// non-finite f16 scale in Q8_0 blocks, no scale 255 in MXFP4 blocks; integer
// tensors always pass. The error names the file, the tensor, the element (or
// block) index and its byte offset.
Status check_finite(const TensorInfo& t);

}  // namespace quarry::formats
