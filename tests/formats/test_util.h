// Helpers shared by the formats tests: temporary folders, raw byte builders.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace quarry::formats::testutil {

inline std::string tiny_a_dir() { return std::string(QUARRY_TEST_DATA) + "/gpt-oss-tiny/tiny-a"; }

// A fresh folder under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("quarry_formats_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Little-endian byte builder for hand-made (often broken) files.
class Bytes {
 public:
  template <class T>
  Bytes& le(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    data_.insert(data_.end(), b, b + sizeof(T));
    return *this;
  }
  Bytes& u8(uint8_t v) { return le(v); }
  Bytes& u32(uint32_t v) { return le(v); }
  Bytes& u64(uint64_t v) { return le(v); }
  Bytes& i64(int64_t v) { return le(v); }
  Bytes& raw(const std::string& s) {
    data_.insert(data_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& str(const std::string& s) {  // GGUF string: u64 length + bytes
    u64(s.size());
    return raw(s);
  }
  Bytes& zeros(size_t n) {
    data_.insert(data_.end(), n, 0);
    return *this;
  }
  Bytes& pad_to(size_t align) { return zeros((align - data_.size() % align) % align); }
  size_t size() const { return data_.size(); }
  const std::vector<uint8_t>& vec() const { return data_; }

 private:
  std::vector<uint8_t> data_;
};

// A safetensors file from a header text and `data_bytes` bytes of data.
inline std::vector<uint8_t> safetensors_bytes(const std::string& header, size_t data_bytes) {
  return Bytes().u64(header.size()).raw(header).zeros(data_bytes).vec();
}

}  // namespace quarry::formats::testutil
