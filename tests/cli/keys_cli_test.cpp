// `quarry keys create|list|revoke` and `quarry usage` on a fresh store.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "cli_run.h"

namespace {

using quarry::testing::run_quarry;

TEST(KeysCli, CreateListRevoke) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("quarry_keys_" + std::to_string(getpid())))
          .string();
  std::filesystem::remove_all(dir);
  auto access = run_quarry("keys create --data-dir " + dir + " --description ci");
  ASSERT_EQ(access.status, 0) << access.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(access.out, m, std::regex("access key id (AKIA[A-Z0-9]{16})")))
      << access.out;
  const std::string id = m[1];
  EXPECT_TRUE(std::regex_search(access.out, std::regex("secret access key \\S{40}")));
  auto api = run_quarry("keys create --api --data-dir " + dir);
  ASSERT_EQ(api.status, 0) << api.err;
  EXPECT_NE(api.out.find("key qk-"), std::string::npos);

  auto list = run_quarry("keys list --data-dir " + dir);
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_NE(list.out.find(id + "  active"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("qk-", list.out.find("qk-") + 20), std::string::npos)
      << "a listing never shows a whole API key";

  EXPECT_EQ(run_quarry("keys revoke --data-dir " + dir + " " + id).status, 0);
  EXPECT_NE(run_quarry("keys list --data-dir " + dir).out.find(id + "  revoked"),
            std::string::npos);
  auto missing = run_quarry("keys revoke --data-dir " + dir + " AKIANOSUCHKEY0000000");
  EXPECT_NE(missing.status, 0);
  EXPECT_FALSE(missing.err.empty());

  auto usage = run_quarry("usage --json --data-dir " + dir);
  EXPECT_EQ(usage.status, 0) << usage.err;
  EXPECT_EQ(
      std::filesystem::status(dir + "/quarry.db").permissions() & std::filesystem::perms::group_all,
      std::filesystem::perms::none);
  std::filesystem::remove_all(dir);
}

}  // namespace
