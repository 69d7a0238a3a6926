// GptOssModel::quantize_dense_q8: the dense matrices to Q8 at load.
#include <sys/mman.h>
#include <unistd.h>

#include "kernels/numeric.h"
#include "kernels/ops.h"
#include "model/gpt_oss_model.h"

namespace quarry::model {
namespace {

using kernels::DenseMatrix;
using kernels::ElemType;

// Tells the kernel the mapped pages of `w` are not needed any more (they are
// clean file pages: dropping them only lowers the resident set).
void drop_pages(const DenseMatrix& w) {
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0 || w.data == nullptr) return;
  const auto begin = reinterpret_cast<uintptr_t>(w.data);
  const uintptr_t end = begin + w.n_rows * w.row_stride * kernels::elem_size(w.type);
  const uintptr_t p = static_cast<uintptr_t>(page);
  const uintptr_t first = (begin + p - 1) / p * p, last = end / p * p;
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace

Result<uint64_t> GptOssModel::quantize_dense_q8(ThreadPool& pool) {
  if (dense_q8_) return uint64_t{0};
  GptOssWeights& w = *weights_;
  std::vector<DenseMatrix*> mats;
  for (LayerWeights& L : w.layers) {
    for (DenseMatrix* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.router}) mats.push_back(m);
  }
  mats.push_back(&w.lm_head);
  uint64_t saved = 0;
  for (DenseMatrix* m : mats) {
    if (m->type == ElemType::kQ8) continue;
    if (m->d_in % 32 != 0) {
      return make_error("--weights-int8: a dense matrix has " + std::to_string(m->d_in) +
                        " inputs, not a multiple of 32");
    }
    const size_t nb = m->d_in / 32;
    auto codes = std::make_unique<int8_t[]>(m->n_rows * m->d_in);
    auto scales = std::make_unique<float[]>(m->n_rows * nb);
    const DenseMatrix src = *m;
    pool.parallel_for(src.n_rows, 64, [&](size_t r0, size_t r1) {
      std::vector<float> row(src.d_in);
      for (size_t r = r0; r < r1; ++r) {
        kernels::dense_row_to_f32(kernels::ref_ops(), src, r, row.data());
        for (size_t b = 0; b < nb; ++b) {
          kernels::quantize_block_q8(row.data() + b * 32, codes.get() + r * src.d_in + b * 32,
                                     scales.get() + r * nb + b);
        }
      }
    });
    const uint64_t before = src.n_rows * src.d_in * kernels::elem_size(src.type);
    const uint64_t after = src.n_rows * (src.d_in + nb * sizeof(float));
    saved += before > after ? before - after : 0;
    // The embedding may share the lm_head's tensor (tied weights): keep its pages.
    if (src.data != w.embed.data) {
      drop_pages(src);
      dropped_.push_back(src.data);
    }
    m->data = codes.get();
    m->type = ElemType::kQ8;
    m->row_stride = src.d_in;
    m->scales = scales.get();
    m->scales_row_stride = nb;
    w.q8_codes.push_back(std::move(codes));
    w.q8_scales.push_back(std::move(scales));
  }
  dense_q8_ = true;
  return saved;
}

}  // namespace quarry::model
