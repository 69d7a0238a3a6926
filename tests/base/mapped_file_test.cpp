#include "base/mapped_file.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace quarry {
namespace {

// Clears CAP_IPC_LOCK from the calling thread's effective capabilities (a
// no-op where it is not held).
void drop_ipc_lock_capability() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return;
  data[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
  ::syscall(SYS_capset, &header, data);
}

// Bytes this process has locked in RAM (VmLck of /proc/self/status), or -1.
long long locked_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmLck:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

// Whether mlock locks anything here: the sanitizers' runtimes turn it into a
// no-op that reports success.
bool mlock_locks() {
  const long long before = locked_bytes();
  void* p = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (before < 0 || p == MAP_FAILED) return false;
  const bool locked = ::mlock(p, 4096) == 0 && locked_bytes() > before;
  ::munmap(p, 4096);
  return locked;
}

// A page-aligned address with nothing mapped: a one-page mapping that was
// unmapped again (null if either call failed).
void* unmapped_page() {
  void* p = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED || ::munmap(p, 4096) != 0) return nullptr;
  return p;
}

class MappedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("quarry_mapped_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(MappedFileTest, MapsTheBytes) {
  std::string content(3 * 4096 + 17, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 13);
  const std::string path = write("a.bin", content);
  auto f = MappedFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->size(), content.size());
  EXPECT_EQ(f->path(), path);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data()), f->size()), content);
  EXPECT_EQ(f->bytes().size(), content.size());
  EXPECT_TRUE(f->advise_sequential().ok());
  EXPECT_TRUE(f->advise_random(100, 5000).ok());
  EXPECT_TRUE(f->advise_willneed(4097).ok());
  EXPECT_TRUE(f->populate().ok());
  EXPECT_TRUE(f->populate(5000, 10).ok());
  EXPECT_TRUE(f->advise_willneed(1u << 30).ok());  // past the end: nothing to do
}

TEST_F(MappedFileTest, RangesInsideAMapping) {
  const std::string path = write("r.bin", std::string(5 * 4096, 'x'));
  auto f = MappedFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  // An unaligned start is rounded down to its page.
  EXPECT_TRUE(willneed_range(f->data() + 4097, 3 * 4096).ok());
  EXPECT_TRUE(populate_range(f->data() + 100, 4096).ok());
  EXPECT_TRUE(populate_range(f->data(), 0).ok());
  EXPECT_TRUE(populate_range(nullptr, 10).ok());
}

TEST_F(MappedFileTest, RangeAdviceOnUnmappedMemoryFailsClearly) {
  void* p = unmapped_page();
  ASSERT_NE(p, nullptr);
  const Status st = willneed_range(p, 4096);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("madvise(MADV_WILLNEED)"), std::string::npos) << st.message();
}

TEST_F(MappedFileTest, LockRangeLocksThePagesOrSaysWhichLimitStopsIt) {
  if (!mlock_locks()) GTEST_SKIP() << "mlock is a no-op in this build (a sanitizer runtime)";
  const std::string path = write("l.bin", std::string(5 * 4096, 'x'));
  auto f = MappedFile::open(path);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_TRUE(lock_range(f->data(), 0).ok());
  EXPECT_TRUE(lock_range(nullptr, 10).ok());
  // [100, 4196) touches pages 0 and 1.
  const Status st = lock_range(f->data() + 100, 4096);
  ASSERT_TRUE(st.ok()) << st.message();
  std::vector<unsigned char> in_core(5);
  ASSERT_EQ(::mincore(const_cast<uint8_t*>(f->data()), 5 * 4096, in_core.data()), 0);
  EXPECT_TRUE(in_core[0] & 1);
  EXPECT_TRUE(in_core[1] & 1);

  // Unmapped memory: the call and the reason.
  void* p = unmapped_page();
  ASSERT_NE(p, nullptr);
  const Status gone = lock_range(p, 4096);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.message().find("mlock(4096 bytes)"), std::string::npos) << gone.message();

  // A locked-memory limit of zero: refused with the limit named. Run on a
  // thread of its own that gives up CAP_IPC_LOCK (capabilities are per
  // thread), which would let it lock beyond the limit (e.g. as root).
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_MEMLOCK, &old), 0);
  rlimit zero = old;
  zero.rlim_cur = 0;
  ASSERT_EQ(::setrlimit(RLIMIT_MEMLOCK, &zero), 0);
  Status limited = Status::Ok();
  std::thread([&] {
    drop_ipc_lock_capability();
    limited = lock_range(f->data() + 3 * 4096, 4096);
  }).join();
  ASSERT_EQ(::setrlimit(RLIMIT_MEMLOCK, &old), 0);
  if (limited.ok()) GTEST_SKIP() << "this thread may lock memory beyond its limit";
  EXPECT_NE(limited.message().find("locked-memory limit is 0 KiB"), std::string::npos)
      << limited.message();
}

TEST_F(MappedFileTest, EmptyFileIsAnEmptySpan) {
  auto f = MappedFile::open(write("empty.bin", ""));
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->size(), 0u);
  EXPECT_EQ(f->data(), nullptr);
  EXPECT_TRUE(f->bytes().empty());
  EXPECT_TRUE(f->populate().ok());
  EXPECT_TRUE(f->advise_sequential().ok());
}

TEST_F(MappedFileTest, ErrorsNameThePath) {
  const std::string missing = (dir_ / "missing.bin").string();
  auto f = MappedFile::open(missing);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.message().rfind(missing + ": cannot open: ", 0), 0u) << f.message();
  auto d = MappedFile::open(dir_.string());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.message(), dir_.string() + ": not a regular file");
}

TEST_F(MappedFileTest, MoveKeepsTheMapping) {
  auto f = MappedFile::open(write("m.bin", "hello"));
  ASSERT_TRUE(f.ok());
  const uint8_t* p = f->data();
  MappedFile a = std::move(f).value();
  MappedFile b;
  b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.size(), 5u);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data()), 5), "hello");
}

}  // namespace
}  // namespace quarry
