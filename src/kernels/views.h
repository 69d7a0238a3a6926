// Non-owning views that kernels read: dense weight matrices (BF16/F16/F32),
// MXFP4 matrices in the Hugging Face or the ggml block layout, and one layer
// of a paged KV cache. Shapes use the project vocabulary (d_model, d_head, ...).
#pragma once

#include <cstddef>
#include <cstdint>

namespace quarry::kernels {

// kQ8: int8 codes, each run of 32 inputs of a row with one f32 scale (the
// optional lower precision of the dense weights, made at load).
enum class ElemType : uint8_t { kF32, kBF16, kF16, kQ8 };

inline size_t elem_size(ElemType t) { return t == ElemType::kF32 ? 4 : t == ElemType::kQ8 ? 1 : 2; }
const char* elem_type_name(ElemType t);

// W[n_rows][d_in], row r at data + r * row_stride elements. y = x W^T.
struct DenseMatrix {
  const void* data = nullptr;
  ElemType type = ElemType::kF32;
  size_t n_rows = 0;
  size_t d_in = 0;
  size_t row_stride = 0;  // in elements
  // kQ8 only: scales[r * scales_row_stride + i / 32] multiplies the codes of
  // inputs i of row r.
  const float* scales = nullptr;
  size_t scales_row_stride = 0;

  const uint8_t* row_ptr(size_t r) const {
    return static_cast<const uint8_t*>(data) + r * row_stride * elem_size(type);
  }
  // Rows [begin, end) as a matrix of their own.
  DenseMatrix rows(size_t begin, size_t end) const {
    DenseMatrix m = *this;
    m.data = row_ptr(begin);
    if (scales != nullptr) m.scales = scales + begin * scales_row_stride;
    m.n_rows = end - begin;
    return m;
  }
};

// MXFP4 (OCP microscaling): 32 consecutive inputs of a row share one E8M0
// scale byte s (factor 2^(s-127)); elements are E2M1 codes.
enum class Mxfp4Layout : uint8_t {
  // Hugging Face release: codes [rows][d_in/32][16] and scales [rows][d_in/32]
  // in separate tensors; in byte j, the low nibble is element 2j, the high 2j+1.
  kHF,
  // ggml block_mxfp4: [rows][d_in/32] blocks of 17 bytes {scale, qs[16]};
  // element j is the low nibble of qs[j], element j+16 its high nibble.
  kGgml,
};

struct Mxfp4Matrix {
  Mxfp4Layout layout = Mxfp4Layout::kHF;
  const uint8_t* codes = nullptr;   // kHF: code bytes; kGgml: the 17-byte blocks
  const uint8_t* scales = nullptr;  // kHF only
  size_t n_rows = 0;
  size_t d_in = 0;               // a multiple of 32
  size_t codes_row_stride = 0;   // bytes between rows in `codes`
  size_t scales_row_stride = 0;  // bytes between rows in `scales` (kHF)

  size_t n_blocks() const { return d_in / 32; }
  Mxfp4Matrix rows(size_t begin, size_t end) const {
    Mxfp4Matrix m = *this;
    m.codes = codes + begin * codes_row_stride;
    if (scales != nullptr) m.scales = scales + begin * scales_row_stride;
    m.n_rows = end - begin;
    return m;
  }
};

// One layer of a paged KV cache for one sequence: the key and value of
// position t live in block block_table[t / block_size] at slot t % block_size;
// a block holds block_size rows of n_kv_head * d_head floats for K (in k) and V
// (in v). Entries for positions the reader never touches (outside a sliding
// window) may be -1.
struct KvLayerView {
  const float* k = nullptr;
  const float* v = nullptr;
  const int32_t* block_table = nullptr;
  size_t block_size = 0;
  size_t row_stride = 0;  // floats per cached position (n_kv_head * d_head)

  size_t row_offset(size_t t) const {
    return (static_cast<size_t>(block_table[t / block_size]) * block_size + t % block_size) *
           row_stride;
  }
};

}  // namespace quarry::kernels
