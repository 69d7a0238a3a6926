// The memory budget shared by the loaded models: reservations, refusals
// with their message, RAII release, concurrent use, and size parsing.
#include "api/memory_budget.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <vector>

#include "api/metrics.h"

namespace quarry::api {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

TEST(MemoryBudget, ReservesAndReleases) {
  MemoryBudget b(4096 * kMiB);
  EXPECT_EQ(b.total(), 4096 * kMiB);
  EXPECT_EQ(b.reserved(), 0u);
  ASSERT_TRUE(b.reserve("a", 1000 * kMiB).ok());
  ASSERT_TRUE(b.reserve("b", 3096 * kMiB).ok()) << "exactly the budget fits";
  EXPECT_EQ(b.reserved(), 4096 * kMiB);
  EXPECT_EQ(b.left(), 0u);
  EXPECT_TRUE(b.release("a"));
  EXPECT_FALSE(b.release("a")) << "released once";
  EXPECT_FALSE(b.release("never"));
  EXPECT_EQ(b.reserved(), 3096 * kMiB);
  EXPECT_TRUE(b.reserve("a", 0).ok());
  EXPECT_TRUE(b.release("b"));
  EXPECT_TRUE(b.release("a"));
  EXPECT_EQ(b.reserved(), 0u);
}

TEST(MemoryBudget, RefusesOverBudgetWithAMessage) {
  MemoryBudget b(4096 * kMiB);
  ASSERT_TRUE(b.reserve("primary", 3529 * kMiB).ok());
  Status s = b.reserve("second", 1234 * kMiB);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "not enough memory: the model and its KV cache need 1234 MiB, 567 MiB of the 4096 MiB "
            "budget are left");
  EXPECT_EQ(b.reserved(), 3529 * kMiB) << "a refusal reserves nothing";
  EXPECT_FALSE(b.release("second"));
  // What is needed rounds up, what is left rounds down.
  Status t = b.reserve("odd", 567 * kMiB + 1, "the weights");
  EXPECT_EQ(t.message(),
            "not enough memory: the weights need 568 MiB, 567 MiB of the 4096 MiB budget are left");
  EXPECT_TRUE(b.reserve("fits", 567 * kMiB).ok());
}

TEST(MemoryBudget, RefusesAKeyAlreadyHeld) {
  MemoryBudget b(10 * kMiB);
  ASSERT_TRUE(b.reserve("m", kMiB).ok());
  Status s = b.reserve("m", kMiB);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("already reserved"), std::string::npos) << s.message();
  EXPECT_EQ(b.reserved(), kMiB);
}

TEST(MemoryBudget, UnlimitedTakesAnything) {
  MemoryBudget b(MemoryBudget::kUnlimited);
  EXPECT_TRUE(b.unlimited());
  ASSERT_TRUE(b.reserve("huge", uint64_t{1} << 62).ok());
  ASSERT_TRUE(b.reserve("more", uint64_t{1} << 62).ok());
  EXPECT_EQ(b.reserved(), uint64_t{1} << 63);
  EXPECT_NE(render_memory_metrics(b).find("quarry_memory_budget_bytes +Inf\n"), std::string::npos);
}

TEST(MemoryBudget, HandleReleasesOnDestructionExactlyOnce) {
  MemoryBudget b(100);
  {
    auto h = b.hold("x", 60);
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(h->held());
    EXPECT_EQ(h->bytes(), 60u);
    EXPECT_EQ(b.reserved(), 60u);
    auto refused = b.hold("y", 41);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("budget are left"), std::string::npos);
    // Moving the handle keeps one reservation.
    MemoryReservation moved = std::move(h.value());
    EXPECT_FALSE(h->held());
    EXPECT_EQ(b.reserved(), 60u);
    MemoryReservation again;
    again = std::move(moved);
    EXPECT_EQ(b.reserved(), 60u);
    again.release();
    EXPECT_EQ(b.reserved(), 0u);
    again.release();
    // The key is free again: the old handle must not release a new holder.
    ASSERT_TRUE(b.reserve("x", 10).ok());
  }
  EXPECT_EQ(b.reserved(), 10u) << "handles already released give back nothing more";
  {
    auto a = b.hold("a", 20);
    ASSERT_TRUE(a.ok());
    MemoryReservation replaced = std::move(a.value());
    auto c = b.hold("c", 30);
    ASSERT_TRUE(c.ok());
    replaced = std::move(c.value());  // "a" goes back, "c" is now held here
    EXPECT_EQ(b.reserved(), 40u);
  }
  EXPECT_EQ(b.reserved(), 10u);
}

TEST(MemoryBudget, HandleMayOutliveTheBudget) {
  std::optional<MemoryReservation> h;
  {
    MemoryBudget b(100);
    auto r = b.hold("x", 50);
    ASSERT_TRUE(r.ok());
    h.emplace(std::move(r.value()));
  }
  h.reset();  // no use after free (checked under ASan)
}

TEST(MemoryBudget, ConcurrentReservationsNeverExceedTheBudget) {
  MemoryBudget b(1000);
  constexpr int kThreads = 8, kRounds = 2000;
  std::vector<std::thread> threads;
  std::vector<int> granted(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&b, &granted, t] {
      for (int i = 0; i < kRounds; ++i) {
        auto h = b.hold(std::to_string(t * kRounds + i), 300);
        if (!h.ok()) continue;
        ++granted[t];
        EXPECT_LE(b.reserved(), 1000u);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(b.reserved(), 0u);
  int total = 0;
  for (int g : granted) total += g;
  EXPECT_GT(total, 0);
}

TEST(MemoryBudget, MetricsAreGauges) {
  MemoryBudget b(8 * kMiB);
  ASSERT_TRUE(b.reserve("m", 3 * kMiB + 5).ok());
  const std::string text = render_memory_metrics(b);
  EXPECT_NE(text.find("# TYPE quarry_memory_budget_bytes gauge\nquarry_memory_budget_bytes "
                      "8388608\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE quarry_memory_reserved_bytes gauge\nquarry_memory_reserved_bytes "
                      "3145733\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# HELP quarry_memory_reserved_bytes "), std::string::npos);
}

TEST(ParseByteSize, AcceptsBytesAndSuffixes) {
  auto is = [](const char* text, uint64_t want) {
    auto r = parse_byte_size(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.message();
    EXPECT_EQ(*r, want) << text;
  };
  is("1073741824", uint64_t{1} << 30);
  is("1", 1);
  is("100B", 100);
  is("4k", 4096);
  is("512M", 512 * kMiB);
  is("512MB", 512 * kMiB);
  is("8G", uint64_t{8} << 30);
  is("8GiB", uint64_t{8} << 30);
  is("8gib", uint64_t{8} << 30);
  is("8Gi", uint64_t{8} << 30);
  is("1.5G", uint64_t{3} << 29);
  is("0.5M", kMiB / 2);
  is("2T", uint64_t{2} << 40);
  is("18446744073709551615", UINT64_MAX);
}

TEST(ParseByteSize, RefusesGarbage) {
  auto refused = [](const char* text, const char* why) {
    auto r = parse_byte_size(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.message().find(why), std::string::npos) << text << ": " << r.message();
    EXPECT_NE(r.message().find(std::string("\"") + text + "\""), std::string::npos)
        << "names the input: " << r.message();
  };
  for (const char* bad :
       {"", "lots", "8X", "8 G", "-1", "G", "1.G", ".5G", "8GiBs", "1e9", "8iB"}) {
    refused(bad, "is not a size");
  }
  refused("0", "more than 0");
  refused("0G", "more than 0");
  refused("1.5", "whole number of bytes");
  refused("18446744073709551616", "too large");
  refused("17179869184G", "too large");
}

}  // namespace
}  // namespace quarry::api
