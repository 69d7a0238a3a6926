#include "formats/safetensors_writer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/byte_sink.h"
#include "formats/safetensors.h"

namespace quarry::formats {
namespace {

std::string shard_name(size_t i, size_t count, bool release_naming) {
  char buf[64];
  if (release_naming) {
    std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", i, count - 1);
  } else {
    std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", i + 1, count);
  }
  return buf;
}

}  // namespace

Status SafetensorsWriter::check(const TensorSpec& spec, uint64_t* nbytes) const {
  if (spec.name.empty() || spec.name == "__metadata__") {
    return make_error("safetensors writer: invalid tensor name '" + spec.name + "'");
  }
  if (names_.count(spec.name) != 0) {
    return make_error("safetensors writer: tensor '" + spec.name + "' added twice");
  }
  if (!safetensors_dtype_string(spec.dtype)) {
    return make_error("safetensors writer: tensor '" + spec.name + "': dtype " +
                      std::string(dtype_name(spec.dtype)) + " has no safetensors name");
  }
  const auto numel = checked_numel(spec.shape);
  const auto n = numel ? dtype_nbytes(spec.dtype, *numel) : std::nullopt;
  if (!n) {
    return make_error("safetensors writer: tensor '" + spec.name + "': shape " +
                      shape_string(spec.shape) + " overflows");
  }
  *nbytes = *n;
  return Status::Ok();
}

Status SafetensorsWriter::add(TensorSpec spec, std::span<const uint8_t> bytes) {
  uint64_t n = 0;
  if (Status st = check(spec, &n); !st.ok()) return st;
  if (n != bytes.size()) {
    return make_error("safetensors writer: tensor '" + spec.name + "': shape " +
                      shape_string(spec.shape) + " of " + std::string(dtype_name(spec.dtype)) +
                      " needs " + std::to_string(n) + " bytes, got " +
                      std::to_string(bytes.size()));
  }
  names_.emplace(spec.name, entries_.size());
  entries_.push_back(Entry{std::move(spec), n, {bytes.begin(), bytes.end()}, {}});
  return Status::Ok();
}

Status SafetensorsWriter::add(TensorSpec spec, TensorFiller fill) {
  uint64_t n = 0;
  if (Status st = check(spec, &n); !st.ok()) return st;
  if (!fill) return make_error("safetensors writer: tensor '" + spec.name + "': no filler");
  names_.emplace(spec.name, entries_.size());
  entries_.push_back(Entry{std::move(spec), n, {}, std::move(fill)});
  return Status::Ok();
}

uint64_t SafetensorsWriter::data_bytes() const {
  uint64_t total = 0;
  for (const auto& e : entries_) total += e.nbytes;
  return total;
}

std::vector<const SafetensorsWriter::Entry*> SafetensorsWriter::file_order(
    const std::vector<size_t>& subset) const {
  std::vector<const Entry*> order;
  for (size_t i : subset) order.push_back(&entries_[i]);
  std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    const uint32_t ea = dtype_block(a->spec.dtype).block_bytes;
    const uint32_t eb = dtype_block(b->spec.dtype).block_bytes;
    if (ea != eb) return ea > eb;
    return a->spec.name < b->spec.name;
  });
  return order;
}

std::string SafetensorsWriter::header(const std::vector<const Entry*>& order) const {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    auto& m = h["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) m[k] = v;
  }
  uint64_t offset = 0;
  for (const Entry* e : order) {
    auto& t = h[e->spec.name];
    t["dtype"] = std::string(*safetensors_dtype_string(e->spec.dtype));
    t["shape"] = e->spec.shape;
    t["data_offsets"] = {offset, offset + e->nbytes};
    offset += e->nbytes;
  }
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data section 8-aligned, as HF writes it
  return text;
}

Status SafetensorsWriter::write_to(ByteSink& sink, const std::vector<size_t>& subset,
                                   uint64_t* done, uint64_t total) const {
  const auto order = file_order(subset);
  std::string head;
  try {
    head = header(order);
  } catch (const std::exception& e) {  // a name or metadata string that is not UTF-8
    return make_error(std::string("safetensors writer: cannot encode the header: ") + e.what());
  }
  const uint64_t n = head.size();
  if (Status st = sink.write(&n, sizeof(n)); !st.ok()) return st;
  if (Status st = sink.write(head); !st.ok()) return st;
  std::vector<uint8_t> buf;
  for (const Entry* e : order) {
    if (e->fill) {
      buf.assign(e->nbytes, 0);
      if (Status st = e->fill(buf); !st.ok()) {
        return make_error("safetensors writer: tensor '" + e->spec.name + "': " + st.message());
      }
      if (Status st = sink.write(buf.data(), buf.size()); !st.ok()) return st;
    } else if (Status st = sink.write(e->bytes.data(), e->bytes.size()); !st.ok()) {
      return st;
    }
    *done += e->nbytes;
    if (progress_) progress_(*done, total);
  }
  return Status::Ok();
}

Status SafetensorsWriter::write(const std::string& path) const {
  auto sink = FileSink::create(path);
  if (!sink.ok()) return sink.error();
  std::vector<size_t> all(entries_.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  uint64_t done = 0;
  if (Status st = write_to(**sink, all, &done, data_bytes()); !st.ok()) return st;
  return (*sink)->commit();
}

Result<std::vector<uint8_t>> SafetensorsWriter::serialize() const {
  MemorySink sink;
  std::vector<size_t> all(entries_.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  uint64_t done = 0;
  if (Status st = write_to(sink, all, &done, data_bytes()); !st.ok()) {
    return make_error(st.message());
  }
  return std::move(sink.bytes());
}

Result<std::vector<std::string>> SafetensorsWriter::write_sharded(
    const std::string& dir, const ShardOptions& options) const {
  std::vector<std::vector<size_t>> shards;
  uint64_t in_shard = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const uint64_t n = entries_[i].nbytes;
    if (shards.empty() || (in_shard > 0 && in_shard + n > options.max_shard_bytes)) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(i);
    in_shard += n;
  }
  if (shards.empty()) shards.emplace_back();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(dir + ": cannot create directory: " + ec.message());
  nlohmann::json index;
  index["metadata"]["total_size"] = data_bytes();
  index["weight_map"] = nlohmann::json::object();
  std::vector<std::string> files;
  uint64_t done = 0;
  const uint64_t total = data_bytes();
  for (size_t s = 0; s < shards.size(); ++s) {
    const std::string name = shard_name(s, shards.size(), options.release_naming);
    auto sink = FileSink::create(dir + "/" + name);
    if (!sink.ok()) return sink.error();
    if (Status st = write_to(**sink, shards[s], &done, total); !st.ok()) {
      return make_error(st.message());
    }
    if (Status st = (*sink)->commit(); !st.ok()) return make_error(st.message());
    for (size_t i : shards[s]) index["weight_map"][entries_[i].spec.name] = name;
    files.push_back(name);
  }
  auto sink = FileSink::create(dir + "/model.safetensors.index.json");
  if (!sink.ok()) return sink.error();
  std::string text;
  try {
    text = index.dump(2) + "\n";
  } catch (const std::exception& e) {
    return make_error(std::string("safetensors writer: cannot encode the index: ") + e.what());
  }
  if (Status st = (*sink)->write(text); !st.ok()) return make_error(st.message());
  if (Status st = (*sink)->commit(); !st.ok()) return make_error(st.message());
  return files;
}

}  // namespace quarry::formats
