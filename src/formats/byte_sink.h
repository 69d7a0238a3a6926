// Where the writers put bytes: a file (written to PATH.tmp and renamed into
// place on commit) or memory (internal to the formats module).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace quarry::formats {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status write(const void* data, size_t n) = 0;
  Status write(std::string_view s) { return write(s.data(), s.size()); }
  Status zeros(uint64_t n);
  uint64_t written() const { return written_; }

 protected:
  uint64_t written_ = 0;
};

class MemorySink final : public ByteSink {
 public:
  using ByteSink::write;
  Status write(const void* data, size_t n) override;
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

class FileSink final : public ByteSink {
 public:
  // Opens PATH.tmp for writing.
  static Result<std::unique_ptr<FileSink>> create(const std::string& path);
  ~FileSink() override;  // removes PATH.tmp unless committed
  using ByteSink::write;
  Status write(const void* data, size_t n) override;
  // Flushes, closes and renames PATH.tmp to PATH.
  Status commit();

 private:
  FileSink(std::string path, std::FILE* f) : path_(std::move(path)), f_(f) {}
  std::string path_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

}  // namespace quarry::formats
