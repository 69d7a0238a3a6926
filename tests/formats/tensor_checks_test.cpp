#include "formats/tensor_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "formats/safetensors.h"
#include "test_util.h"

namespace quarry::formats {
namespace {

using ::testing::HasSubstr;

template <class T>
TensorInfo info(const std::vector<T>& v, DType dtype) {
  return TensorInfo{.name = std::string(1, 'w'),
                    .dtype = dtype,
                    .shape = {v.size()},
                    .data = reinterpret_cast<const uint8_t*>(v.data()),
                    .nbytes = v.size() * sizeof(T),
                    .file = std::string("f.safetensors"),
                    .file_offset = 100};
}

TEST(TensorChecks, FiniteTensorsPass) {
  const std::vector<float> f = {0.f, -1.f, std::numeric_limits<float>::max(),
                                std::numeric_limits<float>::denorm_min()};
  EXPECT_TRUE(check_finite(info(f, DType::kF32)).ok());
  const std::vector<uint16_t> bf = {0x3F80, 0xBF80, 0x7F7F, 0x0001};  // 1, -1, max, subnormal
  EXPECT_TRUE(check_finite(info(bf, DType::kBF16)).ok());
  const std::vector<int32_t> ints = {-1, 0x7FFFFFFF};
  EXPECT_TRUE(check_finite(info(ints, DType::kI32)).ok());
  auto ck = SafetensorsFile::open(testutil::tiny_a_dir() + "/model.safetensors");
  ASSERT_TRUE(ck.ok());
  for (const auto& t : ck->tensors()) EXPECT_TRUE(check_finite(t).ok()) << t.name;
}

TEST(TensorChecks, NonFiniteValuesAreNamed) {
  const std::vector<float> f = {1.f, 2.f, std::nanf(""), 4.f};
  EXPECT_EQ(check_finite(info(f, DType::kF32)).message(),
            "f.safetensors: tensor 'w': element 2 is not finite (byte offset 108)");
  const std::vector<uint16_t> bf = {0x3F80, 0x7F80};  // 1, +inf
  EXPECT_THAT(check_finite(info(bf, DType::kBF16)).message(),
              HasSubstr("element 1 is not finite (byte offset 102)"));
  const std::vector<uint16_t> h = {0xFC00};  // -inf in f16
  EXPECT_THAT(check_finite(info(h, DType::kF16)).message(), HasSubstr("element 0"));
  const std::vector<double> d = {0.0, -std::numeric_limits<double>::infinity()};
  EXPECT_THAT(check_finite(info(d, DType::kF64)).message(), HasSubstr("byte offset 108"));
  std::vector<uint8_t> q8(68, 0);
  q8[34] = 0x00;
  q8[35] = 0x7E;  // f16 NaN scale in block 1
  TensorInfo q = info(q8, DType::kQ8_0);
  q.shape = {64};
  EXPECT_THAT(check_finite(q).message(),
              HasSubstr("Q8_0 block scale 1 is not finite (byte offset 134)"));
  std::vector<uint8_t> mx(17, 0);
  mx[0] = 255;
  TensorInfo m = info(mx, DType::kMXFP4);
  m.shape = {32};
  EXPECT_THAT(check_finite(m).message(), HasSubstr("invalid scale 255"));
}

}  // namespace
}  // namespace quarry::formats
