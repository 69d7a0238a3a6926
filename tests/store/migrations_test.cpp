// The migration list itself: versions 1, 2, ... in order, each step applied
// once, the latest one being what Store reports.
#include "store/migrations.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/store.h"

namespace quarry::store::detail {
namespace {

TEST(Migrations, VersionsAreConsecutiveFromOne) {
  const auto steps = migrations();
  ASSERT_FALSE(steps.empty());
  for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i].version, static_cast<int>(i) + 1);
  EXPECT_EQ(steps.back().version, Store::latest_schema_version());
}

int user_version(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
  const int v = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  return v;
}

TEST(Migrations, MigrateIsIdempotent) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  ASSERT_TRUE(migrate(db, "test").ok());
  EXPECT_EQ(user_version(db), Store::latest_schema_version());
  // A second run finds nothing to do (re-running v1 would fail on CREATE TABLE).
  auto again = migrate(db, "test");
  EXPECT_TRUE(again.ok()) << again.message();
  sqlite3_close(db);
}

bool has_table(sqlite3* db, const char* name) {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE name = ?", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  const bool found = sqlite3_step(s) == SQLITE_ROW;
  sqlite3_finalize(s);
  return found;
}

TEST(Migrations, StepsRunInOrderAndAFailedStepRollsBack) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  const Migration good[] = {{1, "CREATE TABLE a (x)"}, {2, "CREATE TABLE b (x)"}};
  ASSERT_TRUE(migrate(db, "test", good).ok());
  EXPECT_EQ(user_version(db), 2);

  // Step 3 creates c, then fails: c must not survive and the version stays 2.
  const Migration more[] = {good[0], good[1], {3, "CREATE TABLE c (x); CREATE TABLE a (y)"}};
  auto st = migrate(db, "test", more);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("schema version 3"), std::string::npos) << st.message();
  EXPECT_EQ(user_version(db), 2);
  EXPECT_FALSE(has_table(db, "c"));

  // Fixed, it applies only the missing step.
  const Migration fixed[] = {good[0], good[1], {3, "CREATE TABLE c (x)"}};
  ASSERT_TRUE(migrate(db, "test", fixed).ok());
  EXPECT_EQ(user_version(db), 3);
  EXPECT_TRUE(has_table(db, "c"));

  // This file is now ahead of a build that knows two steps.
  auto old = migrate(db, "test", good);
  EXPECT_EQ(old.code(), StoreErrc::kTooNew);
  sqlite3_close(db);
}

}  // namespace
}  // namespace quarry::store::detail
