// MappedFile: a whole file mapped read-only (PROT_READ, MAP_PRIVATE). Parsers
// bounds-check every offset against size() before touching the bytes: reading
// past the end of a mapping (or of a file truncated after mapping) raises SIGBUS.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/result.h"

namespace quarry {

class MappedFile {
 public:
  // Maps `path`; the error names the path and the OS reason. A zero-length
  // file maps to an empty span (data() == nullptr).
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, static_cast<size_t>(size_)}; }
  const std::string& path() const { return path_; }

  // Access-pattern advice for the byte range [offset, offset + length) (clamped
  // to the file; the start is rounded down to a page). Advice is a hint: the
  // error only reports a failed system call, and callers may ignore it.
  Status advise_sequential(uint64_t offset = 0, uint64_t length = UINT64_MAX) const;
  Status advise_random(uint64_t offset = 0, uint64_t length = UINT64_MAX) const;
  Status advise_willneed(uint64_t offset = 0, uint64_t length = UINT64_MAX) const;
  // Faults the range in now: MADV_POPULATE_READ (Linux >= 5.14), else
  // MADV_WILLNEED followed by touching one byte per page.
  Status populate(uint64_t offset = 0, uint64_t length = UINT64_MAX) const;

 private:
  Status advise(int advice, const char* what, uint64_t offset, uint64_t length) const;
  void reset();

  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  std::string path_;
};

// The same for bytes anywhere inside a mapping (say one tensor of a mapped
// file): [data, data + length), the start rounded down to a page.
// willneed_range starts reading the pages in the background and returns;
// populate_range faults them in before it returns; lock_range faults them in
// and keeps them in RAM until they are unmapped (mlock: the page cache cannot
// drop them). Locking fails beyond RLIMIT_MEMLOCK unless the process may lock
// any amount (CAP_IPC_LOCK); the error says so.
Status willneed_range(const void* data, uint64_t length);
Status populate_range(const void* data, uint64_t length);
Status lock_range(const void* data, uint64_t length);

}  // namespace quarry
