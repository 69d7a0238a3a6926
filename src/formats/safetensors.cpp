#include "formats/safetensors.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "formats/bytes.h"
#include "formats/json_util.h"

namespace quarry::formats {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the limit of HF's own reader
constexpr int kMaxJsonDepth = 16;

struct DTypeName {
  std::string_view name;
  DType dtype;
};
constexpr DTypeName kDTypeNames[] = {
    {"F64", DType::kF64},   {"F32", DType::kF32}, {"F16", DType::kF16},
    {"BF16", DType::kBF16}, {"I64", DType::kI64}, {"I32", DType::kI32},
    {"I16", DType::kI16},   {"I8", DType::kI8},   {"U8", DType::kU8},
};

// Parses one tensor entry of the header into `out` (data not yet set).
Status parse_entry(const std::string& file, std::string_view header, const std::string& name,
                   const Json& entry, uint64_t data_start, uint64_t data_size, TensorInfo& out,
                   uint64_t& begin) {
  auto fail = [&](const std::string& what) {  // locates the key only on error
    return make_error(file + ": tensor '" + name + "': " + what + " (header byte offset " +
                      std::to_string(json_key_offset(header, name, 8)) + ")");
  };
  if (name.empty()) return fail("empty tensor name");
  if (!entry.is_object()) return fail(std::string("entry is a JSON ") + entry.type_name());
  const auto dt = entry.find("dtype");
  if (dt == entry.end() || !dt->is_string()) return fail("missing or non-string \"dtype\"");
  const std::string& dts = dt->get_ref<const std::string&>();
  const auto dtype = dtype_from_safetensors(dts);
  if (!dtype) return fail("unknown or unsupported dtype \"" + dts + "\"");
  const auto sh = entry.find("shape");
  if (sh == entry.end() || !sh->is_array()) return fail("missing or non-array \"shape\"");
  std::vector<uint64_t> shape;
  for (const Json& d : *sh) {
    if (!d.is_number_unsigned()) return fail("shape dimension " + d.dump() + " is not a count");
    shape.push_back(d.get<uint64_t>());
  }
  const auto offs = entry.find("data_offsets");
  if (offs == entry.end() || !offs->is_array() || offs->size() != 2 ||
      !(*offs)[0].is_number_unsigned() || !(*offs)[1].is_number_unsigned()) {
    return fail("\"data_offsets\" must be [begin, end] byte counts");
  }
  begin = (*offs)[0].get<uint64_t>();
  const uint64_t end = (*offs)[1].get<uint64_t>();
  const std::string range =
      "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
  if (end < begin) return fail(range + " end before begin");
  uint64_t abs = 0;
  bytes::add(data_start, begin, &abs);  // both are below the file size here or caught next
  if (end > data_size) {
    return fail(range + " run past the data section (" + std::to_string(data_size) +
                " bytes from file offset " + std::to_string(data_start) + ")");
  }
  const auto numel = checked_numel(shape);
  const auto need = numel ? dtype_nbytes(*dtype, *numel) : std::nullopt;
  if (!need) return fail("shape " + shape_string(shape) + " overflows 64-bit byte counts");
  if (*need != end - begin) {
    return fail("shape " + shape_string(shape) + " of " + dts + " needs " + std::to_string(*need) +
                " bytes but " + range + " span " + std::to_string(end - begin) + " (file offset " +
                std::to_string(abs) + ")");
  }
  out.name = name;
  out.dtype = *dtype;
  out.shape = std::move(shape);
  out.nbytes = end - begin;
  out.file = file;
  out.file_offset = abs;
  return Status::Ok();
}

}  // namespace

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (const auto& d : kDTypeNames) {
    if (d.name == name) return d.dtype;
  }
  return std::nullopt;
}

std::optional<std::string_view> safetensors_dtype_string(DType t) {
  for (const auto& d : kDTypeNames) {
    if (d.dtype == t) return d.name;
  }
  return std::nullopt;
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto map = MappedFile::open(path);
  if (!map.ok()) return map.error();
  auto parsed = parse(map->bytes(), path);
  if (!parsed.ok()) return parsed.error();
  parsed->map_ = std::move(map).value();  // the mapping's address does not change
  return parsed;
}

Result<SafetensorsFile> SafetensorsFile::parse(std::span<const uint8_t> bytes,
                                               const std::string& name) {
  const uint64_t size = bytes.size();
  if (size < 8) {
    return make_error(name + ": file is " + std::to_string(size) +
                      " bytes, too short for the 8-byte header length at offset 0");
  }
  const uint64_t n = bytes::load_le<uint64_t>(bytes.data());
  if (n > size - 8) {
    return make_error(name + ": header length " + std::to_string(n) +
                      " (at offset 0) runs past the end of the file (" + std::to_string(size) +
                      " bytes; the header can hold at most " + std::to_string(size - 8) + ")");
  }
  if (n > kMaxHeaderBytes) {
    return make_error(name + ": header length " + std::to_string(n) +
                      " (at offset 0) exceeds the 100 MB limit");
  }
  const std::string_view header(reinterpret_cast<const char*>(bytes.data()) + 8, n);
  Json root;
  if (Status st = parse_json_checked(header, name, "header", 8, kMaxJsonDepth, root); !st.ok()) {
    return make_error(st.message());
  }
  if (!root.is_object()) {
    return make_error(name + ": header (offset 8) is a JSON " + std::string(root.type_name()) +
                      ", expected an object");
  }
  SafetensorsFile f;
  f.origin_ = name;
  f.header_bytes_ = n;
  f.file_size_ = size;
  const uint64_t data_start = 8 + n;
  const uint64_t data_size = size - data_start;
  std::vector<std::pair<uint64_t, size_t>> order;  // (begin, index)
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      const uint64_t at = json_key_offset(header, key, 8);
      if (!value.is_object()) {
        return make_error(name + ": \"__metadata__\" is not an object (header byte offset " +
                          std::to_string(at) + ")");
      }
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) {
          return make_error(name + ": \"__metadata__\" value for '" + mk +
                            "' is not a string (header byte offset " + std::to_string(at) + ")");
        }
        f.metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    TensorInfo info;
    uint64_t begin = 0;
    Status st = parse_entry(name, header, key, value, data_start, data_size, info, begin);
    if (!st.ok()) return make_error(st.message());
    info.data = bytes.data() + info.file_offset;
    order.emplace_back(begin, f.tensors_.size());
    f.tensors_.push_back(std::move(info));
  }
  // Sort by (begin, end) and reject overlaps.
  std::sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return f.tensors_[a.second].nbytes < f.tensors_[b.second].nbytes;
  });
  std::vector<TensorInfo> sorted;
  sorted.reserve(order.size());
  for (const auto& [begin, i] : order) {
    TensorInfo& t = f.tensors_[i];
    if (!sorted.empty()) {
      const TensorInfo& prev = sorted.back();
      if (prev.file_offset + prev.nbytes > t.file_offset) {
        return make_error(name + ": tensor '" + t.name + "' (file offset " +
                          std::to_string(t.file_offset) + ", " + std::to_string(t.nbytes) +
                          " bytes) overlaps tensor '" + prev.name + "' (file offset " +
                          std::to_string(prev.file_offset) + ", " + std::to_string(prev.nbytes) +
                          " bytes)");
      }
    }
    sorted.push_back(std::move(t));
  }
  f.tensors_ = std::move(sorted);
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
  return f;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& t : tensors_) out.push_back(t.name);
  return out;
}

}  // namespace quarry::formats
