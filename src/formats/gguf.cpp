#include "formats/gguf.h"

#include <algorithm>
#include <limits>

#include "formats/bytes.h"
#include "formats/ggml_types.h"

namespace quarry::formats {
namespace {

constexpr int kMaxArrayDepth = 4;            // arrays of arrays, nested at most this deep
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;  // empty key, type, one u8
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims 0, type, offset

std::string str(uint64_t v) { return std::to_string(v); }

}  // namespace

class GgufFile::Parser {
 public:
  Parser(std::span<const uint8_t> bytes, const std::string& name, GgufFile& f)
      : p_(bytes.data()), size_(bytes.size()), name_(name), f_(f) {}

  Status run() {
    if (Status st = header(); !st.ok()) return st;
    if (Status st = kvs(); !st.ok()) return st;
    if (Status st = alignment(); !st.ok()) return st;
    if (Status st = tensor_infos(); !st.ok()) return st;
    return place_tensors();
  }

 private:
  Error fail(uint64_t at, const std::string& what) const {
    return make_error(name_ + ": " + ctx_ + ": " + what + " (byte offset " + str(at) + ")");
  }
  uint64_t remaining() const { return size_ - pos_; }

  Status need(uint64_t n, const char* what) const {
    if (bytes::in_bounds(pos_, n, size_)) return Status::Ok();
    return fail(
        pos_, std::string(what) + " needs " + str(n) + " bytes but the file ends at " + str(size_));
  }
  template <class T>
  Status read(T& v, const char* what) {
    if (Status st = need(sizeof(T), what); !st.ok()) return st;
    v = bytes::load_le<T>(p_ + pos_);
    pos_ += sizeof(T);
    return Status::Ok();
  }
  Status read_string(std::string& s, const char* what) {
    const uint64_t at = pos_;
    uint64_t len = 0;
    if (Status st = read(len, what); !st.ok()) return st;
    if (len > remaining()) {
      return fail(at, std::string(what) + " length " + str(len) +
                          " runs past the end of the file (" + str(remaining()) + " bytes left)");
    }
    s.assign(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return Status::Ok();
  }
  Status read_type(GgufType& t, const char* what) {
    const uint64_t at = pos_;
    uint32_t raw = 0;
    if (Status st = read(raw, what); !st.ok()) return st;
    if (raw >= kGgufTypeCount) return fail(at, "invalid value type " + str(raw));
    t = static_cast<GgufType>(raw);
    return Status::Ok();
  }

  Status header() {
    ctx_ = "header";
    if (size_ < 4 || std::string_view(reinterpret_cast<const char*>(p_), 4) != "GGUF") {
      return fail(0, "bad magic: not a GGUF file");
    }
    pos_ = 4;
    const uint64_t at = pos_;
    if (Status st = read(f_.version_, "version"); !st.ok()) return st;
    if ((f_.version_ & 0xFFFF) == 0) {
      return fail(at, "version " + str(f_.version_) + " looks byte-swapped (big-endian file?)");
    }
    if (f_.version_ == 1) return fail(at, "GGUF version 1 is not supported");
    if (f_.version_ != 2 && f_.version_ != 3) {
      return fail(at, "unsupported GGUF version " + str(f_.version_));
    }
    if (Status st = read(n_tensors_, "tensor count"); !st.ok()) return st;
    if (Status st = read(n_kv_, "key/value count"); !st.ok()) return st;
    // Every KV and tensor info takes a minimum number of bytes: counts that
    // cannot fit are rejected before anything is allocated for them.
    uint64_t a = 0, b = 0, sum = 0;
    if (!bytes::mul(n_kv_, kMinKvBytes, &a) || !bytes::mul(n_tensors_, kMinTensorInfoBytes, &b) ||
        !bytes::add(a, b, &sum) || sum > remaining()) {
      return fail(8, str(n_tensors_) + " tensors and " + str(n_kv_) +
                         " key/values cannot fit in the " + str(remaining()) +
                         " bytes after the header");
    }
    return Status::Ok();
  }

  Status kvs() {
    f_.kvs_.reserve(n_kv_);
    for (uint64_t i = 0; i < n_kv_; ++i) {
      ctx_ = "key/value #" + str(i);
      GgufKv kv;
      kv.offset = pos_;
      if (Status st = read_string(kv.key, "key"); !st.ok()) return st;
      if (kv.key.empty()) return fail(kv.offset, "empty key");
      ctx_ = "key '" + kv.key + "'";
      if (f_.kv_index_.count(kv.key) != 0) return fail(kv.offset, "duplicate key");
      GgufType t;
      if (Status st = read_type(t, "value type"); !st.ok()) return st;
      if (Status st = value(t, 0, kv.value); !st.ok()) return st;
      f_.kv_index_.emplace(kv.key, f_.kvs_.size());
      f_.kvs_.push_back(std::move(kv));
    }
    return Status::Ok();
  }

  Status value(GgufType t, int depth, GgufValue& out) {
    if (t == GgufType::kArray) return array(depth, out);
    if (t == GgufType::kString) {
      std::string s;
      if (Status st = read_string(s, "string value"); !st.ok()) return st;
      out = GgufValue::string(std::move(s));
      return Status::Ok();
    }
    const uint32_t n = gguf_type_size(t);
    if (Status st = need(n, "value"); !st.ok()) return st;
    out = GgufValue::from_raw(t, p_ + pos_);
    pos_ += n;
    return Status::Ok();
  }

  Status array(int depth, GgufValue& out) {
    const uint64_t at = pos_;
    if (depth >= kMaxArrayDepth)
      return fail(at, "arrays nested deeper than " + str(kMaxArrayDepth));
    GgufType elem;
    if (Status st = read_type(elem, "array element type"); !st.ok()) return st;
    uint64_t count = 0;
    if (Status st = read(count, "array length"); !st.ok()) return st;
    const uint64_t min_item = elem == GgufType::kString  ? 8
                              : elem == GgufType::kArray ? 12
                                                         : gguf_type_size(elem);
    if (count > remaining() / min_item) {
      return fail(at, "array of " + str(count) + " " + std::string(gguf_type_name(elem)) +
                          " items runs past the end of the file (" + str(remaining()) +
                          " bytes left)");
    }
    if (elem == GgufType::kString) {
      std::vector<std::string> items(static_cast<size_t>(count));
      for (auto& s : items) {
        if (Status st = read_string(s, "array string"); !st.ok()) return st;
      }
      out = GgufValue::string_array(std::move(items));
    } else if (elem == GgufType::kArray) {
      std::vector<GgufValue> items(static_cast<size_t>(count));
      for (auto& v : items) {
        if (Status st = array(depth + 1, v); !st.ok()) return st;
      }
      out = GgufValue::array_of_arrays(std::move(items));
    } else {
      const uint64_t n = count * min_item;  // fits: count <= remaining / min_item
      out = GgufValue::raw_array(elem, count, std::vector<uint8_t>(p_ + pos_, p_ + pos_ + n));
      pos_ += n;
    }
    return Status::Ok();
  }

  Status alignment() {
    ctx_ = "key '" + std::string(kGgufAlignmentKey) + "'";
    const GgufKv* kv = f_.kv(kGgufAlignmentKey);
    if (kv == nullptr) return Status::Ok();
    const auto a = kv->value.as_u64();
    if (!a || *a == 0 || *a > (uint64_t{1} << 31) || (*a & (*a - 1)) != 0) {
      return fail(kv->offset, "alignment " + kv->value.to_string() + " (" +
                                  std::string(kv->value.type_string()) +
                                  ") is not a power of two in u32 range");
    }
    f_.alignment_ = *a;
    return Status::Ok();
  }

  Status tensor_infos() {
    f_.tensors_.reserve(n_tensors_);
    info_offsets_.reserve(n_tensors_);
    for (uint64_t i = 0; i < n_tensors_; ++i) {
      ctx_ = "tensor #" + str(i);
      TensorInfo t;
      const uint64_t at = pos_;
      if (Status st = read_string(t.name, "tensor name"); !st.ok()) return st;
      ctx_ = "tensor '" + t.name + "'";
      if (f_.tensor_index_.count(t.name) != 0) return fail(at, "duplicate tensor name");
      uint32_t n_dims = 0;
      const uint64_t dims_at = pos_;
      if (Status st = read(n_dims, "dimension count"); !st.ok()) return st;
      if (n_dims > 4) return fail(dims_at, str(n_dims) + " dimensions (at most 4)");
      std::vector<uint64_t> ne(n_dims);
      for (auto& d : ne) {
        const uint64_t d_at = pos_;
        int64_t v = 0;
        if (Status st = read(v, "dimension"); !st.ok()) return st;
        if (v < 0) return fail(d_at, "negative dimension " + std::to_string(v));
        d = static_cast<uint64_t>(v);
      }
      const uint64_t type_at = pos_;
      uint32_t type = 0;
      if (Status st = read(type, "ggml type"); !st.ok()) return st;
      if (Status st = set_type(t, ne, type, type_at); !st.ok()) return st;
      if (Status st = read(t.file_offset, "data offset"); !st.ok()) return st;  // relative for now
      t.shape.assign(ne.rbegin(), ne.rend());
      t.file = name_;
      f_.tensor_index_.emplace(t.name, f_.tensors_.size());
      f_.tensors_.push_back(std::move(t));
      info_offsets_.push_back(at);
    }
    return Status::Ok();
  }

  Status set_type(TensorInfo& t, const std::vector<uint64_t>& ne, uint32_t type, uint64_t at) {
    const GgmlTypeInfo* info = ggml_type_info(type);
    if (info == nullptr) return fail(at, "unknown ggml type " + str(type));
    const auto dtype = dtype_from_ggml(type);
    if (!dtype) {
      return fail(at,
                  "ggml type " + std::string(info->name) + " (" + str(type) + ") is not supported");
    }
    const uint64_t row = ne.empty() ? 1 : ne[0];
    if (row % info->block_elems != 0) {
      return fail(at, "row of " + str(row) + " " + std::string(info->name) +
                          " values is not a whole number of " + str(info->block_elems) +
                          "-value blocks");
    }
    const auto numel = checked_numel(ne);
    const auto nbytes = numel ? dtype_nbytes(*dtype, *numel) : std::nullopt;
    if (!nbytes) return fail(at, "shape " + shape_string(ne) + " overflows 64-bit byte counts");
    t.dtype = *dtype;
    t.nbytes = *nbytes;
    return Status::Ok();
  }

  Status place_tensors() {
    ctx_ = "data section";
    if (!bytes::align_up(pos_, f_.alignment_, &f_.data_start_)) {
      return fail(pos_, "aligning the data section overflows");
    }
    if (n_tensors_ > 0 && f_.data_start_ > size_) {
      return fail(pos_, "data section would start at " + str(f_.data_start_) +
                            ", past the end of the file (" + str(size_) + " bytes)");
    }
    std::vector<size_t> order(f_.tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) {
      TensorInfo& t = f_.tensors_[i];
      order[i] = i;
      ctx_ = "tensor '" + t.name + "'";
      const uint64_t rel = t.file_offset;
      if (rel % f_.alignment_ != 0) {
        return fail(info_offsets_[i], "data offset " + str(rel) + " is not a multiple of the " +
                                          str(f_.alignment_) + "-byte alignment");
      }
      uint64_t abs = 0;
      if (!bytes::add(f_.data_start_, rel, &abs) || !bytes::in_bounds(abs, t.nbytes, size_)) {
        return fail(info_offsets_[i], "data [" + str(rel) + ", +" + str(t.nbytes) +
                                          ") from data section start " + str(f_.data_start_) +
                                          " runs past the end of the file (" + str(size_) +
                                          " bytes)");
      }
      t.file_offset = abs;
      t.data = p_ + abs;
    }
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const TensorInfo& x = f_.tensors_[a];
      const TensorInfo& y = f_.tensors_[b];
      return x.file_offset != y.file_offset ? x.file_offset < y.file_offset : x.nbytes < y.nbytes;
    });
    for (size_t k = 1; k < order.size(); ++k) {
      const TensorInfo& prev = f_.tensors_[order[k - 1]];
      const TensorInfo& cur = f_.tensors_[order[k]];
      if (prev.file_offset + prev.nbytes > cur.file_offset) {
        ctx_ = "tensor '" + cur.name + "'";
        return fail(cur.file_offset, "data overlaps tensor '" + prev.name + "' at byte offset " +
                                         str(prev.file_offset) + " (" + str(prev.nbytes) +
                                         " bytes)");
      }
    }
    return Status::Ok();
  }

  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& name_;
  GgufFile& f_;
  std::string ctx_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  std::vector<uint64_t> info_offsets_;
};

Result<GgufFile> GgufFile::open(const std::string& path) {
  auto map = MappedFile::open(path);
  if (!map.ok()) return map.error();
  auto parsed = parse(map->bytes(), path);
  if (!parsed.ok()) return parsed.error();
  parsed->map_ = std::move(map).value();  // the mapping's address does not change
  return parsed;
}

Result<GgufFile> GgufFile::parse(std::span<const uint8_t> bytes, const std::string& name) {
  GgufFile f;
  f.origin_ = name;
  Parser parser(bytes, name, f);
  if (Status st = parser.run(); !st.ok()) return make_error(st.message());
  return f;
}

const TensorInfo* GgufFile::find(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::vector<std::string> GgufFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& t : tensors_) out.push_back(t.name);
  return out;
}

const GgufKv* GgufFile::kv(std::string_view key) const {
  const auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second];
}

const GgufValue* GgufFile::value(std::string_view key) const {
  const GgufKv* k = kv(key);
  return k == nullptr ? nullptr : &k->value;
}

Error GgufFile::key_error(std::string_view key, std::string_view wanted) const {
  const GgufKv* k = kv(key);
  if (k == nullptr) return make_error(origin_ + ": key '" + std::string(key) + "' is missing");
  return make_error(origin_ + ": key '" + std::string(key) + "' (byte offset " + str(k->offset) +
                    ") holds " + std::string(k->value.type_string()) + " " + k->value.to_string(4) +
                    ", expected " + std::string(wanted));
}

Result<uint32_t> GgufFile::get_u32(std::string_view key) const {
  const GgufValue* v = value(key);
  const auto u = v ? v->as_u64() : std::nullopt;
  if (!u || *u > std::numeric_limits<uint32_t>::max()) return key_error(key, "u32");
  return static_cast<uint32_t>(*u);
}

Result<uint64_t> GgufFile::get_u64(std::string_view key) const {
  const GgufValue* v = value(key);
  const auto u = v ? v->as_u64() : std::nullopt;
  if (!u) return key_error(key, "u64");
  return *u;
}

Result<int64_t> GgufFile::get_i64(std::string_view key) const {
  const GgufValue* v = value(key);
  const auto i = v ? v->as_i64() : std::nullopt;
  if (!i) return key_error(key, "i64");
  return *i;
}

Result<float> GgufFile::get_f32(std::string_view key) const {
  const GgufValue* v = value(key);
  const auto f = v ? v->as_f64() : std::nullopt;
  if (!f) return key_error(key, "f32");
  return static_cast<float>(*f);
}

Result<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = value(key);
  const auto b = v ? v->as_bool() : std::nullopt;
  if (!b) return key_error(key, "bool");
  return *b;
}

Result<std::string_view> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = value(key);
  const std::string* s = v ? v->as_string() : nullptr;
  if (s == nullptr) return key_error(key, "str");
  return std::string_view(*s);
}

Result<std::span<const std::string>> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* v = value(key);
  if (v == nullptr || !v->is_array() || v->elem_type() != GgufType::kString) {
    return key_error(key, "arr[str]");
  }
  return v->strings();
}

Result<std::vector<int64_t>> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* v = value(key);
  auto a = v ? v->int_array() : std::nullopt;
  if (!a) return key_error(key, "an array of integers");
  return std::move(*a);
}

Result<std::vector<float>> GgufFile::get_f32_array(std::string_view key) const {
  const GgufValue* v = value(key);
  const auto a = v ? v->float_array() : std::nullopt;
  if (!a) return key_error(key, "arr[f32]");
  return std::vector<float>(a->begin(), a->end());
}

}  // namespace quarry::formats
