#include "formats/byte_sink.h"

#include <cerrno>
#include <cstring>

namespace quarry::formats {

Status ByteSink::zeros(uint64_t n) {
  static const char kZeros[256] = {};
  while (n > 0) {
    const size_t k = n < sizeof(kZeros) ? static_cast<size_t>(n) : sizeof(kZeros);
    if (Status st = write(kZeros, k); !st.ok()) return st;
    n -= k;
  }
  return Status::Ok();
}

Status MemorySink::write(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  bytes_.insert(bytes_.end(), p, p + n);
  written_ += n;
  return Status::Ok();
}

Result<std::unique_ptr<FileSink>> FileSink::create(const std::string& path) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return make_error(tmp + ": cannot create: " + std::strerror(errno));
  return std::unique_ptr<FileSink>(new FileSink(path, f));
}

FileSink::~FileSink() {
  if (f_ != nullptr) std::fclose(f_);
  if (!committed_) std::remove((path_ + ".tmp").c_str());
}

Status FileSink::write(const void* data, size_t n) {
  if (n == 0) return Status::Ok();
  if (f_ == nullptr || std::fwrite(data, 1, n, f_) != n) {
    return make_error(path_ + ".tmp: write failed at byte offset " + std::to_string(written_) +
                      ": " + std::strerror(errno));
  }
  written_ += n;
  return Status::Ok();
}

Status FileSink::commit() {
  const std::string tmp = path_ + ".tmp";
  const int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) return make_error(tmp + ": close failed: " + std::strerror(errno));
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
    return make_error(path_ + ": cannot rename from " + tmp + ": " + std::strerror(errno));
  }
  committed_ = true;
  return Status::Ok();
}

}  // namespace quarry::formats
