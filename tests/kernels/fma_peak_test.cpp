// The vector FMA probe of `quarry bench --profile`: its lane count follows the
// CPU's features, and a burst reports exactly the multiply-adds it ran (twice
// the rounds, twice the count), whole vectors of them.
#include "kernels/fma_peak.h"

#include <gtest/gtest.h>

namespace quarry::kernels {
namespace {

TEST(FmaPeak, LanesFollowTheCpu) {
  const size_t lanes = fma_lanes();
  if (__builtin_cpu_supports("avx512f")) {
    EXPECT_EQ(lanes, 16u);
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_EQ(lanes, 8u);
  } else {
    EXPECT_EQ(lanes, 0u);
    EXPECT_EQ(fma_burst(100), 0u);
  }
}

TEST(FmaPeak, BurstCountsItsMultiplyAdds) {
  const size_t lanes = fma_lanes();
  if (lanes == 0) GTEST_SKIP() << "this CPU has no vector FMA";
  const uint64_t one = fma_burst(1000), two = fma_burst(2000);
  EXPECT_GT(one, 0u);
  EXPECT_EQ(one % (1000 * lanes), 0u);  // whole vectors in every round
  EXPECT_EQ(two, 2 * one);
  EXPECT_EQ(fma_burst(0), 0u);
}

}  // namespace
}  // namespace quarry::kernels
