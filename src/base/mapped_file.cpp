#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace quarry {
namespace {

std::string os_error(const std::string& path, const char* what) {
  return path + ": " + what + ": " + std::strerror(errno);
}

uint64_t page_size() {
  static const uint64_t size = [] {
    const long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<uint64_t>(p) : uint64_t{4096};
  }();
  return size;
}

// [data, data + length) widened down to its first page's start: what
// madvise and mlock take.
struct PageSpan {
  void* start;
  size_t bytes;
};
PageSpan page_span(const void* data, uint64_t length) {
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t start = begin - begin % page_size();
  return {reinterpret_cast<void*>(start), static_cast<size_t>(begin + length - start)};
}

Status advise_range(const void* data, uint64_t length, int advice, const char* what) {
  if (data == nullptr || length == 0) return Status::Ok();
  const PageSpan span = page_span(data, length);
  if (::madvise(span.start, span.bytes, advice) != 0) {
    return make_error(std::string(what) + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(os_error(path, "cannot open"));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string msg = os_error(path, "cannot stat");
    ::close(fd);
    return make_error(std::move(msg));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(path + ": not a regular file");
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<uint64_t>(st.st_size);
  if (file.size_ > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(file.size_), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      std::string msg = os_error(path, "cannot mmap");
      ::close(fd);
      return make_error(std::move(msg));
    }
    file.data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping keeps the file alive
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      path_(std::move(other.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    path_ = std::move(other.path_);
  }
  return *this;
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::reset() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), static_cast<size_t>(size_));
  data_ = nullptr;
  size_ = 0;
}

Status MappedFile::advise(int advice, const char* what, uint64_t offset, uint64_t length) const {
  if (data_ == nullptr || offset >= size_) return Status::Ok();
  const uint64_t end = length > size_ - offset ? size_ : offset + length;
  const uint64_t start = offset - offset % page_size();
  if (::madvise(const_cast<uint8_t*>(data_) + start, static_cast<size_t>(end - start), advice) !=
      0) {
    return make_error(os_error(path_, what) + " (bytes " + std::to_string(start) + ".." +
                      std::to_string(end) + ")");
  }
  return Status::Ok();
}

Status MappedFile::advise_sequential(uint64_t offset, uint64_t length) const {
  return advise(MADV_SEQUENTIAL, "madvise(MADV_SEQUENTIAL)", offset, length);
}

Status MappedFile::advise_random(uint64_t offset, uint64_t length) const {
  return advise(MADV_RANDOM, "madvise(MADV_RANDOM)", offset, length);
}

Status MappedFile::advise_willneed(uint64_t offset, uint64_t length) const {
  return advise(MADV_WILLNEED, "madvise(MADV_WILLNEED)", offset, length);
}

Status MappedFile::populate(uint64_t offset, uint64_t length) const {
  if (data_ == nullptr || offset >= size_) return Status::Ok();
  const uint64_t n = length > size_ - offset ? size_ - offset : length;
  if (Status st = populate_range(data_ + offset, n); !st.ok()) {
    return make_error(path_ + ": " + st.message());
  }
  return Status::Ok();
}

Status willneed_range(const void* data, uint64_t length) {
  return advise_range(data, length, MADV_WILLNEED, "madvise(MADV_WILLNEED)");
}

Status lock_range(const void* data, uint64_t length) {
  if (data == nullptr || length == 0) return Status::Ok();
  const PageSpan span = page_span(data, length);
  if (::mlock(span.start, span.bytes) == 0) return Status::Ok();
  const int err = errno;
  std::string message = "mlock(" + std::to_string(span.bytes) + " bytes): " + std::strerror(err);
  rlimit limit{};
  if ((err == ENOMEM || err == EPERM) && ::getrlimit(RLIMIT_MEMLOCK, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY) {
    message += " (the locked-memory limit is " + std::to_string(limit.rlim_cur >> 10) +
               " KiB: raise it with `ulimit -l` or LimitMEMLOCK=, or run with CAP_IPC_LOCK)";
  }
  return make_error(message);
}

Status populate_range(const void* data, uint64_t length) {
  if (data == nullptr || length == 0) return Status::Ok();
#if defined(__linux__)
#ifndef MADV_POPULATE_READ
  constexpr int MADV_POPULATE_READ = 22;  // Linux 5.14 uapi value; older headers lack it
#endif
  if (advise_range(data, length, MADV_POPULATE_READ, "madvise(MADV_POPULATE_READ)").ok()) {
    return Status::Ok();
  }
  // EINVAL on kernels before 5.14: fall back below.
#endif
  if (Status st = willneed_range(data, length); !st.ok()) return st;
  const auto* bytes = static_cast<const volatile uint8_t*>(data);
  uint8_t sink = 0;
  for (uint64_t p = 0; p < length; p += page_size()) sink = sink + bytes[p];
  (void)sink;
  return Status::Ok();
}

}  // namespace quarry
