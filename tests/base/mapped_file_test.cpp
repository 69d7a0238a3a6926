#include "base/mapped_file.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace quarry {
namespace {

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
  // A page-aligned address with nothing mapped: the page just past a
  // one-page mapping that was unmapped again.
  void* p = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(::munmap(p, 4096), 0);
  const Status st = willneed_range(p, 4096);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("madvise(MADV_WILLNEED)"), std::string::npos) << st.message();
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
