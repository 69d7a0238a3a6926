// GptOssModel::bring_in: every mapped weight page is in memory and mapped
// after kNow, except the BF16 pages that --weights-int8 dropped; kLocked keeps
// them locked (VmLck) until the model is gone. Whether a
// page of this process is mapped comes from /proc/self/pagemap (bit 63).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "model/gpt_oss_model.h"

namespace quarry::model {
namespace {

const std::string kTinyA = std::string(QUARRY_TEST_DATA) + "/gpt-oss-tiny/tiny-a";

class PageMap {
 public:
  PageMap() : fd_(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) {}
  ~PageMap() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Readable, and it reports a page this process has just written as mapped.
  bool usable() const {
    if (fd_ < 0) return false;
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    void* p = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    static_cast<volatile char*>(p)[0] = 1;
    const bool reports = mapped(p, page).first == 1;
    ::munmap(p, 2 * page);
    return reports;
  }
  // Pages wholly inside [p, p + n) that are mapped now, and how many there are.
  std::pair<size_t, size_t> mapped(const void* p, size_t n) const {
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<uintptr_t>(p);
    size_t present = 0, total = 0;
    for (uintptr_t a = (begin + page - 1) / page * page; a + page <= begin + n; a += page) {
      uint64_t entry = 0;
      if (::pread(fd_, &entry, sizeof entry, static_cast<off_t>(a / page * 8)) == 8) {
        present += entry >> 63;
      }
      ++total;
    }
    return {present, total};
  }

 private:
  int fd_;
};

TEST(ModelResidency, BringInMapsEveryWeightButTheDroppedOnes) {
  PageMap pages;
  if (!pages.usable())
    GTEST_SKIP() << "/proc/self/pagemap does not say which pages are mapped here";
  auto m = load_model(kTinyA);
  ASSERT_TRUE(m.ok()) << m.message();
  const formats::TensorInfo* lm_head = (*m)->source().find("lm_head.weight");
  const formats::TensorInfo* experts =
      (*m)->source().find("model.layers.1.mlp.experts.gate_up_proj_blocks");
  ASSERT_NE(lm_head, nullptr);
  ASSERT_NE(experts, nullptr);

  ASSERT_TRUE((*m)->bring_in(GptOssModel::Residency::kBackground).ok());
  ASSERT_TRUE((*m)->bring_in(GptOssModel::Residency::kNow).ok());
  for (const formats::TensorInfo* t : {lm_head, experts}) {
    const auto [present, total] = pages.mapped(t->data, t->nbytes);
    EXPECT_GT(total, 4u) << t->name;
    EXPECT_EQ(present, total) << t->name;
  }

  // --weights-int8 drops the lm_head's mapped pages; bringing the weights in
  // again leaves them out (they would only add to what the model holds).
  ThreadPool pool(1);
  ASSERT_TRUE((*m)->quantize_dense_q8(pool).ok());
  EXPECT_EQ(pages.mapped(lm_head->data, lm_head->nbytes).first, 0u);
  ASSERT_TRUE((*m)->bring_in(GptOssModel::Residency::kNow).ok());
  EXPECT_EQ(pages.mapped(lm_head->data, lm_head->nbytes).first, 0u);
  const auto [present, total] = pages.mapped(experts->data, experts->nbytes);
  EXPECT_EQ(present, total);
}

// Bytes this process has locked in RAM (VmLck of /proc/self/status), or -1.
int64_t locked_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmLck:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

TEST(ModelResidency, LockedKeepsEveryWeightInRamWhileTheModelLives) {
  const int64_t before = locked_bytes();
  if (before < 0) GTEST_SKIP() << "/proc/self/status has no VmLck here";
  {
    // The sanitizers' runtimes turn mlock into a no-op that reports success.
    void* p = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    const bool locks = ::mlock(p, 4096) == 0 && locked_bytes() > before;
    ::munmap(p, 4096);
    if (!locks) GTEST_SKIP() << "mlock is a no-op in this build (a sanitizer runtime)";
  }
  uint64_t weights = 0;
  {
    auto m = load_model(kTinyA);
    ASSERT_TRUE(m.ok()) << m.message();
    for (const std::string& name : (*m)->source().names())
      weights += (*m)->source().find(name)->nbytes;
    const Status st = (*m)->bring_in(GptOssModel::Residency::kLocked);
    if (!st.ok() && st.message().find("locked-memory limit") != std::string::npos) {
      GTEST_SKIP() << st.message();
    }
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_GE(locked_bytes() - before, static_cast<int64_t>(weights));
  }
  // Unmapped with the model: nothing stays locked.
  EXPECT_EQ(locked_bytes(), before);
}

}  // namespace
}  // namespace quarry::model
