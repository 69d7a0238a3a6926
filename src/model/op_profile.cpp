#include "model/op_profile.h"

namespace quarry::model {

const char* op_name(Op op) {
  switch (op) {
    case Op::kEmbed:
      return "embedding + rope tables";
    case Op::kNorm:
      return "rmsnorm";
    case Op::kQkv:
      return "q/k/v projections";
    case Op::kRope:
      return "rope + kv write";
    case Op::kAttention:
      return "attention";
    case Op::kAttnOut:
      return "o projection";
    case Op::kRouter:
      return "router";
    case Op::kRouting:
      return "top-k + grouping";
    case Op::kExpertsGateUp:
      return "experts gate/up + swiglu";
    case Op::kExpertsDown:
      return "experts down";
    case Op::kCombine:
      return "experts combine";
    case Op::kLmHead:
      return "lm_head";
    case Op::kCount:
      break;
  }
  return "?";
}

double OpProfile::total_seconds() const {
  double s = 0.0;
  for (const Entry& e : ops) s += e.seconds;
  return s;
}

uint64_t OpProfile::total_weight_bytes() const {
  uint64_t b = 0;
  for (const Entry& e : ops) b += e.weight_bytes;
  return b;
}

uint64_t OpProfile::total_macs() const {
  uint64_t m = 0;
  for (const Entry& e : ops) m += e.macs;
  return m;
}

}  // namespace quarry::model
