// Fuzzes the safetensors reader (and the HF index parser) from memory: it must
// never crash, every tensor it accepts must lie inside the buffer, and what it
// accepts must survive a write/read round trip through SafetensorsWriter.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>

#include "formats/hf_checkpoint.h"
#include "formats/safetensors.h"
#include "formats/safetensors_writer.h"

using quarry::formats::SafetensorsFile;
using quarry::formats::SafetensorsWriter;

static void round_trip(const SafetensorsFile& f) {
  SafetensorsWriter w;
  for (const auto& [k, v] : f.metadata()) w.set_metadata(k, v);
  for (const auto& t : f.tensors()) {
    if (!w.add({t.name, t.dtype, t.shape}, {t.data, t.nbytes}).ok()) std::abort();
  }
  auto bytes = w.serialize();
  if (!bytes.ok()) std::abort();
  auto again = SafetensorsFile::parse(*bytes, "round-trip");
  if (!again.ok() || again->tensors().size() != f.tensors().size() ||
      again->metadata() != f.metadata()) {
    std::abort();
  }
  for (const auto& t : f.tensors()) {
    const auto* u = again->find(t.name);
    if (u == nullptr || u->dtype != t.dtype || u->shape != t.shape || u->nbytes != t.nbytes ||
        std::memcmp(u->data, t.data, t.nbytes) != 0) {
      std::abort();
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto f = SafetensorsFile::parse(bytes, "fuzz.safetensors");
  if (f.ok()) {
    volatile uint8_t sink = 0;
    for (const auto& t : f->tensors()) {
      if (t.data < data || t.nbytes > size ||
          t.data - data > static_cast<ptrdiff_t>(size - t.nbytes)) {
        std::abort();
      }
      if (t.nbytes > 0) sink = sink ^ t.data[0] ^ t.data[t.nbytes - 1];
      if (f->find(t.name) != &t) std::abort();
    }
    round_trip(*f);
  } else if (f.message().find("fuzz.safetensors") == std::string::npos) {
    std::abort();  // every error names the file
  }
  auto index = quarry::formats::parse_hf_index(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.index.json");
  if (!index.ok() && index.message().empty()) std::abort();
  return 0;
}
