#include "base/utf8.h"

#include <gtest/gtest.h>

namespace quarry::utf8 {
namespace {

TEST(Utf8, ValidAndInvalid) {
  EXPECT_TRUE(is_valid(""));
  EXPECT_TRUE(is_valid("plain ascii"));
  EXPECT_TRUE(is_valid("\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80"));  // é 中 😀
  EXPECT_FALSE(is_valid("\xC0\xAF"));                             // overlong
  EXPECT_FALSE(is_valid("\xED\xA0\x80"));                         // surrogate
  EXPECT_FALSE(is_valid("\xF4\x90\x80\x80"));                     // > U+10FFFF
  EXPECT_FALSE(is_valid("\xE4\xB8"));                             // truncated
  EXPECT_FALSE(is_valid("\x80"));
}

TEST(Utf8, LossyUsesMaximalSubparts) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(to_valid_lossy("a\x80z"), "a" + fffd + "z");
  // A truncated 3-byte sequence is one maximal subpart -> one U+FFFD.
  EXPECT_EQ(to_valid_lossy("\xE4\xB8z"), fffd + "z");
  // E0 80: 80 is not a valid second byte after E0 -> two replacements.
  EXPECT_EQ(to_valid_lossy("\xE0\x80"), fffd + fffd);
  EXPECT_EQ(to_valid_lossy("\xF0\x9F\x98"), fffd);
  EXPECT_EQ(to_valid_lossy("\xC3\xA9"), "\xC3\xA9");
}

TEST(Utf8, CompletePrefixHoldsBackOnlyAnUnfinishedTail) {
  EXPECT_EQ(complete_prefix_len("abc"), 3u);
  EXPECT_EQ(complete_prefix_len("ab\xE4\xB8"), 2u);
  EXPECT_EQ(complete_prefix_len("ab\xF0"), 2u);
  EXPECT_EQ(complete_prefix_len("ab\x80"), 3u);      // invalid, not unfinished
  EXPECT_EQ(complete_prefix_len("ab\xE0\x80"), 4u);  // can never complete
  EXPECT_EQ(complete_prefix_len("\xE4\xB8\xAD"), 3u);
}

TEST(Utf8, DecodeAndAppendRoundTrip) {
  for (uint32_t cp : {0x24u, 0xA2u, 0x939u, 0x20ACu, 0xD55Cu, 0x10348u, 0x10FFFFu}) {
    std::string s;
    append(s, cp);
    uint32_t back = 0;
    EXPECT_EQ(decode_one(s, 0, back), static_cast<int>(s.size()));
    EXPECT_EQ(back, cp);
  }
}

}  // namespace
}  // namespace quarry::utf8
