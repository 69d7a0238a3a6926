// The op table registry: each variant with its CPU-feature predicate, best
// first. The default is the first exact one; the fast ones are opt-in.
#include <cstdlib>
#include <string>

#include "kernels/amx/amx_kernels.h"
#include "kernels/avx2/avx2_kernels.h"
#include "kernels/avx512/avx512_kernels.h"
#include "kernels/ops.h"
#include "kernels/ref/ref_kernels.h"

namespace quarry::kernels {
namespace {

Ops make_ref_ops() {
  Ops o;
  o.isa = "ref";
  o.bf16_to_f32 = ref::bf16_to_f32;
  o.f16_to_f32 = ref::f16_to_f32;
  o.matmul_f32_bf16w = ref::matmul_f32_bf16w;
  o.matmul_f32_f16w = ref::matmul_f32_f16w;
  o.matmul_f32_f32w = ref::matmul_f32_f32w;
  o.matmul_f32_q8w = ref::matmul_f32_q8w;
  o.moe_matmul_f32_mxfp4w = ref::moe_matmul_f32_mxfp4w;
  o.rmsnorm_f32 = ref::rmsnorm_f32;
  o.rope_yarn_f32 = ref::rope_yarn_f32;
  o.attention_sink_swa_f32 = ref::attention_sink_swa_f32;
  o.swiglu_clamp_f32 = ref::swiglu_clamp_f32;
  o.topk_softmax_f32 = ref::topk_softmax_f32;
  o.axpy_f32 = ref::axpy_f32;
  return o;
}

struct Variant {
  const Ops* ops;
  bool (*supported)();
};

bool always() { return true; }

bool has_avx2() { return avx2::supported(); }
bool has_avx2_fast() { return avx2::fast_supported(); }
bool has_avx512_fast() { return avx512::fast_supported(); }
bool has_amx_fast() { return amx::fast_supported(); }

// Best first; each entry is used only where its predicate holds.
const std::vector<Variant>& variants() {
  static const std::vector<Variant> v = {{&amx::fast_ops(), has_amx_fast},
                                         {&avx512::fast_ops(), has_avx512_fast},
                                         {&avx2::fast_ops(), has_avx2_fast},
                                         {&avx2::ops(), has_avx2},
                                         {&ref_ops(), always}};
  return v;
}

}  // namespace

const char* elem_type_name(ElemType t) {
  switch (t) {
    case ElemType::kF32:
      return "F32";
    case ElemType::kBF16:
      return "BF16";
    case ElemType::kF16:
      return "F16";
    case ElemType::kQ8:
      return "Q8";
  }
  return "?";
}

void dense_row_to_f32(const Ops& ops, const DenseMatrix& w, size_t r, float* y) {
  const uint8_t* p = w.row_ptr(r);
  switch (w.type) {
    case ElemType::kBF16:
      return ops.bf16_to_f32(reinterpret_cast<const uint16_t*>(p), w.d_in, y);
    case ElemType::kF16:
      return ops.f16_to_f32(reinterpret_cast<const uint16_t*>(p), w.d_in, y);
    case ElemType::kF32: {
      const float* f = reinterpret_cast<const float*>(p);
      for (size_t i = 0; i < w.d_in; ++i) y[i] = f[i];
      return;
    }
    case ElemType::kQ8: {
      const auto* q = reinterpret_cast<const int8_t*>(p);
      const float* s = w.scales + r * w.scales_row_stride;
      for (size_t i = 0; i < w.d_in; ++i) y[i] = s[i / 32] * static_cast<float>(q[i]);
      return;
    }
  }
}

const Ops& ref_ops() {
  static const Ops ops = make_ref_ops();
  return ops;
}

std::vector<std::string_view> available_isas() {
  std::vector<std::string_view> names;
  for (const Variant& v : variants()) {
    if (v.supported()) names.emplace_back(v.ops->isa);
  }
  return names;
}

Result<const Ops*> find_ops(std::string_view isa) {
  for (const Variant& v : variants()) {
    if (isa == v.ops->isa && v.supported()) return v.ops;
  }
  std::string list;
  for (std::string_view n : available_isas()) list += (list.empty() ? "" : ", ") + std::string(n);
  return make_error("QUARRY_ISA=" + std::string(isa) +
                    ": no such kernel variant on this CPU (available: " + list + ")");
}

Result<const Ops*> ops_from_env() {
  const char* env = std::getenv("QUARRY_ISA");
  if (env != nullptr && *env != '\0') return find_ops(env);
  for (const Variant& v : variants()) {
    if (v.ops->exact && v.supported()) return v.ops;
  }
  return &ref_ops();
}

}  // namespace quarry::kernels
