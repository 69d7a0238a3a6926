// Fuzzes the GGUF reader from memory: it must never crash, every tensor it
// accepts must lie inside the buffer, the metadata getters must answer every
// key, and what it accepts must survive a write/read round trip through
// GgufWriter (when the writer can express it: llama.cpp's limits apply there).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "formats/gguf.h"
#include "formats/gguf_writer.h"

using quarry::formats::GgufFile;
using quarry::formats::GgufWriter;

static void query_all(const GgufFile& f) {
  for (const auto& kv : f.kvs()) {
    (void)f.get_u32(kv.key);
    (void)f.get_u64(kv.key);
    (void)f.get_i64(kv.key);
    (void)f.get_f32(kv.key);
    (void)f.get_bool(kv.key);
    (void)f.get_string(kv.key);
    (void)f.get_string_array(kv.key);
    (void)f.get_int_array(kv.key);
    (void)f.get_f32_array(kv.key);
    (void)kv.value.to_string(4);
    if (f.value(kv.key) != &kv.value) std::abort();
  }
}

static void round_trip(const GgufFile& f) {
  GgufWriter w;
  for (const auto& kv : f.kvs()) w.set(kv.key, kv.value);
  for (const auto& t : f.tensors()) {
    if (!w.add_tensor({t.name, t.dtype, t.shape}, {t.data, t.nbytes}).ok())
      return;  // e.g. long name
  }
  auto bytes = w.serialize();
  if (!bytes.ok()) return;  // e.g. a general.alignment stored as another integer type
  auto again = GgufFile::parse(*bytes, "round-trip");
  if (!again.ok() || again->kvs().size() != f.kvs().size() ||
      again->tensors().size() != f.tensors().size() || again->alignment() != f.alignment()) {
    std::abort();
  }
  for (size_t i = 0; i < f.kvs().size(); ++i) {
    if (again->kvs()[i].key != f.kvs()[i].key || !(again->kvs()[i].value == f.kvs()[i].value)) {
      std::abort();
    }
  }
  for (const auto& t : f.tensors()) {
    const auto* u = again->find(t.name);
    if (u == nullptr || u->dtype != t.dtype || u->nbytes != t.nbytes ||
        (!t.shape.empty() && u->shape != t.shape) || std::memcmp(u->data, t.data, t.nbytes) != 0) {
      std::abort();
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = GgufFile::parse(std::span<const uint8_t>(data, size), "fuzz.gguf");
  if (!f.ok()) {
    if (f.message().find("fuzz.gguf") == std::string::npos) std::abort();  // names the file
    return 0;
  }
  volatile uint8_t sink = 0;
  for (const auto& t : f->tensors()) {
    if (t.data < data || t.nbytes > size ||
        t.data - data > static_cast<ptrdiff_t>(size - t.nbytes)) {
      std::abort();
    }
    if (t.nbytes > 0) sink = sink ^ t.data[0] ^ t.data[t.nbytes - 1];
    if (t.file_offset % f->alignment() != f->data_start() % f->alignment()) std::abort();
  }
  query_all(*f);
  round_trip(*f);
  return 0;
}
