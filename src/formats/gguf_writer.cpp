#include "formats/gguf_writer.h"

#include "formats/byte_sink.h"
#include "formats/bytes.h"
#include "formats/ggml_types.h"
#include "formats/gguf.h"

namespace quarry::formats {
namespace {

constexpr size_t kMaxTensorName = 63;  // llama.cpp: name.length() < GGML_MAX_NAME (64)

void put_string(std::string& out, const std::string& s) {
  bytes::append_le<uint64_t>(out, s.size());
  out += s;
}

void put_value(std::string& out, const GgufValue& v) {
  if (!v.is_array()) {
    if (v.type() == GgufType::kString) {
      put_string(out, *v.as_string());
    } else {
      out.append(reinterpret_cast<const char*>(v.raw().data()), v.raw().size());
    }
    return;
  }
  bytes::append_le<uint32_t>(out, static_cast<uint32_t>(v.elem_type()));
  bytes::append_le<uint64_t>(out, v.size());
  if (v.elem_type() == GgufType::kString) {
    for (const auto& s : v.strings()) put_string(out, s);
  } else if (v.elem_type() == GgufType::kArray) {
    for (const auto& a : v.arrays()) put_value(out, a);
  } else {
    out.append(reinterpret_cast<const char*>(v.raw().data()), v.raw().size());
  }
}

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
  const auto it = kv_index_.find(key);
  if (it != kv_index_.end()) {
    kvs_[it->second].second = std::move(value);
    return;
  }
  kv_index_.emplace(key, kvs_.size());
  kvs_.emplace_back(std::move(key), std::move(value));
}

Status GgufWriter::check(const TensorSpec& spec, uint32_t* ggml_type, uint64_t* nbytes) const {
  const std::string where = "gguf writer: tensor '" + spec.name + "': ";
  if (spec.name.empty() || spec.name.size() > kMaxTensorName) {
    return make_error(where + "name must be 1.." + std::to_string(kMaxTensorName) + " bytes");
  }
  if (tensor_index_.count(spec.name) != 0) return make_error(where + "added twice");
  const auto type = ggml_from_dtype(spec.dtype);
  if (!type) {
    return make_error(where + "dtype " + std::string(dtype_name(spec.dtype)) + " has no ggml type");
  }
  if (spec.shape.size() > 4) return make_error(where + "more than 4 dimensions");
  for (uint64_t d : spec.shape) {
    if (d > static_cast<uint64_t>(INT64_MAX)) return make_error(where + "dimension too large");
  }
  const uint64_t row = spec.shape.empty() ? 1 : spec.shape.back();
  const uint32_t block = dtype_block(spec.dtype).block_elems;
  if (row % block != 0) {
    return make_error(where + "innermost dimension " + std::to_string(row) +
                      " is not a multiple of the " + std::to_string(block) + "-value block");
  }
  const auto numel = checked_numel(spec.shape);
  const auto n = numel ? dtype_nbytes(spec.dtype, *numel) : std::nullopt;
  if (!n) return make_error(where + "shape " + shape_string(spec.shape) + " overflows");
  *ggml_type = *type;
  *nbytes = *n;
  return Status::Ok();
}

Status GgufWriter::add_tensor(TensorSpec spec, std::span<const uint8_t> bytes) {
  uint32_t type = 0;
  uint64_t n = 0;
  if (Status st = check(spec, &type, &n); !st.ok()) return st;
  if (n != bytes.size()) {
    return make_error("gguf writer: tensor '" + spec.name + "': shape " + shape_string(spec.shape) +
                      " of " + std::string(dtype_name(spec.dtype)) + " needs " + std::to_string(n) +
                      " bytes, got " + std::to_string(bytes.size()));
  }
  tensor_index_.emplace(spec.name, tensors_.size());
  tensors_.push_back(Tensor{std::move(spec), type, n, {bytes.begin(), bytes.end()}, {}});
  return Status::Ok();
}

Status GgufWriter::add_tensor(TensorSpec spec, TensorFiller fill) {
  uint32_t type = 0;
  uint64_t n = 0;
  if (Status st = check(spec, &type, &n); !st.ok()) return st;
  if (!fill) return make_error("gguf writer: tensor '" + spec.name + "': no filler");
  tensor_index_.emplace(spec.name, tensors_.size());
  tensors_.push_back(Tensor{std::move(spec), type, n, {}, std::move(fill)});
  return Status::Ok();
}

uint64_t GgufWriter::data_bytes() const {
  uint64_t total = 0;
  for (const auto& t : tensors_) total += t.nbytes;
  return total;
}

Result<uint64_t> GgufWriter::alignment() const {
  const auto it = kv_index_.find(kGgufAlignmentKey);
  if (it == kv_index_.end()) return uint64_t{kGgufDefaultAlignment};
  const GgufValue& v = kvs_[it->second].second;
  const auto a = v.as_u64();
  if (v.type() != GgufType::kU32 || !a || *a == 0 || (*a & (*a - 1)) != 0) {
    return make_error("gguf writer: general.alignment must be a power-of-two u32, got " +
                      std::string(v.type_string()) + " " + v.to_string());
  }
  return *a;
}

Status GgufWriter::write_to(ByteSink& sink) const {
  const auto align = alignment();
  if (!align.ok()) return make_error(align.message());
  std::string head = "GGUF";
  bytes::append_le<uint32_t>(head, 3);
  bytes::append_le<uint64_t>(head, tensors_.size());
  bytes::append_le<uint64_t>(head, kvs_.size());
  for (const auto& [key, value] : kvs_) {
    if (key.empty()) return make_error("gguf writer: empty key");
    put_string(head, key);
    bytes::append_le<uint32_t>(head, static_cast<uint32_t>(value.type()));
    put_value(head, value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(head, t.spec.name);
    const uint32_t n_dims = t.spec.shape.empty() ? 1 : static_cast<uint32_t>(t.spec.shape.size());
    bytes::append_le<uint32_t>(head, n_dims);
    if (t.spec.shape.empty()) bytes::append_le<int64_t>(head, 1);
    for (auto d = t.spec.shape.rbegin(); d != t.spec.shape.rend(); ++d) {
      bytes::append_le<int64_t>(head, static_cast<int64_t>(*d));
    }
    bytes::append_le<uint32_t>(head, t.ggml_type);
    bytes::append_le<uint64_t>(head, offset);
    uint64_t padded = 0;
    if (!bytes::align_up(t.nbytes, *align, &padded) || !bytes::add(offset, padded, &offset)) {
      return make_error("gguf writer: tensor '" + t.spec.name + "': data offsets overflow");
    }
  }
  if (Status st = sink.write(head); !st.ok()) return st;
  if (Status st = sink.zeros((*align - sink.written() % *align) % *align); !st.ok()) return st;
  std::vector<uint8_t> buf;
  uint64_t done = 0;
  const uint64_t total = data_bytes();
  for (const auto& t : tensors_) {
    if (t.fill) {
      buf.assign(t.nbytes, 0);
      if (Status st = t.fill(buf); !st.ok()) {
        return make_error("gguf writer: tensor '" + t.spec.name + "': " + st.message());
      }
      if (Status st = sink.write(buf.data(), buf.size()); !st.ok()) return st;
    } else if (Status st = sink.write(t.bytes.data(), t.bytes.size()); !st.ok()) {
      return st;
    }
    if (Status st = sink.zeros((*align - t.nbytes % *align) % *align); !st.ok()) return st;
    done += t.nbytes;
    if (progress_) progress_(done, total);
  }
  return Status::Ok();
}

Status GgufWriter::write(const std::string& path) const {
  auto sink = FileSink::create(path);
  if (!sink.ok()) return sink.error();
  if (Status st = write_to(**sink); !st.ok()) return st;
  return (*sink)->commit();
}

Result<std::vector<uint8_t>> GgufWriter::serialize() const {
  MemorySink sink;
  if (Status st = write_to(sink); !st.ok()) return make_error(st.message());
  return std::move(sink.bytes());
}

}  // namespace quarry::formats
