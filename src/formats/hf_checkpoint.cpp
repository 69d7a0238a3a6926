#include "formats/hf_checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/file.h"
#include "formats/json_util.h"

namespace quarry::formats {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

bool plain_relative_path(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.find('\0') != std::string::npos) return false;
  for (const auto& part : fs::path(p)) {
    if (part == "..") return false;
  }
  return true;
}

std::optional<uint64_t> as_count(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= 0 && d < 1.8e19 && static_cast<double>(static_cast<uint64_t>(d)) == d) {
      return static_cast<uint64_t>(d);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<HfIndex> parse_hf_index(std::string_view text, const std::string& name) {
  Json root;
  if (Status st = parse_json_checked(text, name, "index", 0, 16, root); !st.ok()) {
    return make_error(st.message());
  }
  if (!root.is_object()) return make_error(name + ": not a JSON object (byte offset 0)");
  HfIndex index;
  if (const auto meta = root.find("metadata"); meta != root.end() && !meta->is_null()) {
    if (!meta->is_object()) {
      return make_error(name + ": \"metadata\" is not an object (byte offset " +
                        std::to_string(json_key_offset(text, "metadata", 0)) + ")");
    }
    if (const auto ts = meta->find("total_size"); ts != meta->end()) {
      index.total_size = as_count(*ts);
      if (!index.total_size) {
        return make_error(name + ": \"total_size\" " + ts->dump() +
                          " is not a byte count (byte offset " +
                          std::to_string(json_key_offset(text, "total_size", 0)) + ")");
      }
    }
  }
  const auto wm = root.find("weight_map");
  if (wm == root.end() || !wm->is_object()) {
    return make_error(name + ": missing or non-object \"weight_map\"");
  }
  for (const auto& [tensor, file] : wm->items()) {
    if (!file.is_string() || !plain_relative_path(file.get<std::string>())) {
      return make_error(name + ": weight_map entry for tensor '" + tensor +
                        "' is not a relative shard file name: " + file.dump() + " (byte offset " +
                        std::to_string(json_key_offset(text, tensor, 0)) + ")");
    }
    index.weight_map.emplace(tensor, file.get<std::string>());
  }
  return index;
}

Result<HfCheckpoint> HfCheckpoint::open(const std::string& dir) {
  HfCheckpoint ck;
  ck.dir_ = dir;
  const std::string index_path = dir + "/" + std::string(kHfIndexFile);
  std::error_code ec;
  if (!fs::exists(index_path, ec)) {
    const std::string single = dir + "/" + std::string(kHfSingleFile);
    if (!fs::exists(single, ec)) {
      return make_error(dir + ": neither " + std::string(kHfIndexFile) + " nor " +
                        std::string(kHfSingleFile) + " found");
    }
    auto f = SafetensorsFile::open(single);
    if (!f.ok()) return f.error();
    ck.shards_.push_back(std::move(f).value());
    const auto& ts = ck.shards_[0].tensors();
    for (size_t i = 0; i < ts.size(); ++i) ck.index_.emplace(ts[i].name, std::make_pair(0, i));
    return ck;
  }
  ck.sharded_ = true;
  auto text = read_file(index_path);
  if (!text.ok()) return text.error();
  auto index = parse_hf_index(*text, index_path);
  if (!index.ok()) return index.error();
  std::map<std::string, size_t> shard_of;  // file name -> position in shards_ (sorted by name)
  for (const auto& [tensor, file] : index->weight_map) shard_of.emplace(file, 0);
  for (auto& [file, pos] : shard_of) {
    auto f = SafetensorsFile::open(dir + "/" + file);
    if (!f.ok()) {
      return make_error(index_path + ": shard '" + file + "' named in weight_map: " + f.message());
    }
    pos = ck.shards_.size();
    ck.shards_.push_back(std::move(f).value());
  }
  uint64_t total = 0;
  for (const auto& [tensor, file] : index->weight_map) {
    const size_t s = shard_of.at(file);
    const TensorInfo* t = ck.shards_[s].find(tensor);
    if (t == nullptr) {
      return make_error(index_path + ": weight_map puts tensor '" + tensor + "' in shard '" + file +
                        "', but that file has no such tensor (byte offset " +
                        std::to_string(json_key_offset(*text, tensor, 0)) + ")");
    }
    ck.index_.emplace(tensor,
                      std::make_pair(s, static_cast<size_t>(t - ck.shards_[s].tensors().data())));
    total += t->nbytes;
  }
  if (index->total_size && *index->total_size != total) {
    return make_error(index_path + ": metadata.total_size is " +
                      std::to_string(*index->total_size) + " but the mapped tensors hold " +
                      std::to_string(total) + " bytes (byte offset " +
                      std::to_string(json_key_offset(*text, "total_size", 0)) + ")");
  }
  return ck;
}

const TensorInfo* HfCheckpoint::find(std::string_view name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) return nullptr;
  return &shards_[it->second.first].tensors()[it->second.second];
}

std::vector<std::string> HfCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (size_t s = 0; s < shards_.size(); ++s) {
    const auto& ts = shards_[s].tensors();
    for (size_t i = 0; i < ts.size(); ++i) {
      const auto it = index_.find(ts[i].name);
      if (it != index_.end() && it->second == std::make_pair(s, i)) out.push_back(ts[i].name);
    }
  }
  return out;
}

uint64_t HfCheckpoint::data_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, where] : index_) {
    total += shards_[where.first].tensors()[where.second].nbytes;
  }
  return total;
}

}  // namespace quarry::formats
