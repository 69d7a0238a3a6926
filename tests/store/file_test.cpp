// The database file: permissions, WAL, persistence, migrations, and files
// that are not (or no longer) quarry databases.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "store/store.h"
#include "test_util.h"

namespace quarry::store {
namespace {

using testing::TempDir;
using testing::write_bytes;

Model named(std::string name) {
  Model m;
  m.name = std::move(name);
  return m;
}

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

// Runs SQL on the file directly, as another program would, and returns the
// first column of the first row ("" if none).
std::string raw_sql(const std::filesystem::path& p, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

TEST(StoreFile, CreatedPrivateWithItsDirectory) {
  TempDir tmp;
  const auto path = tmp / "data/quarry/quarry.db";
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok()) << store.message();
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(path.parent_path()), 0700u);
  // The WAL and shared-memory files SQLite makes copy the file's mode.
  ASSERT_TRUE(store->create_access_key("k").ok());
  ASSERT_TRUE(std::filesystem::exists(path.string() + "-wal"));
  EXPECT_EQ(mode_of(path.string() + "-wal"), 0600u);
  EXPECT_EQ(mode_of(path.string() + "-shm"), 0600u);
}

TEST(StoreFile, TightensAWiderMode) {
  TempDir tmp;
  const auto path = tmp / "quarry.db";
  write_bytes(path, "");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(Store::open(path).ok());
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST(StoreFile, WalModeIsOn) {
  TempDir tmp;
  const auto path = tmp / "quarry.db";
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok()) << store.message();
  }
  // WAL is recorded in the file, so any later connection sees it.
  EXPECT_EQ(raw_sql(path, "PRAGMA journal_mode"), "wal");
}

TEST(StoreFile, PersistsAcrossReopen) {
  TempDir tmp;
  const auto path = tmp / "quarry.db";
  std::string key_id;
  std::string api_key;
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    Model m;
    m.name = "m";
    m.model_data_url = "/models/gpt-oss-20b";
    ASSERT_TRUE(store->create_model(m).ok());
    EndpointConfig c;
    c.name = "c";
    ASSERT_TRUE(store->create_endpoint_config(c).ok());
    ASSERT_TRUE(store->create_endpoint("e", "c").ok());
    ASSERT_TRUE(store->set_endpoint_status("e", EndpointStatus::kInService).ok());
    key_id = store->create_access_key("ci")->access_key_id;
    api_key = store->create_api_key("ci")->plaintext;
    ASSERT_TRUE(store->add_usage("p", "m", 1, 2, 0).ok());
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok()) << store.message();
  EXPECT_EQ(store->get_model("m")->model_data_url, "/models/gpt-oss-20b");
  EXPECT_EQ(store->get_endpoint("e")->status, EndpointStatus::kInService);
  EXPECT_TRUE(store->lookup_access_key(key_id).ok());
  EXPECT_TRUE(store->verify_api_key(api_key).has_value());
  EXPECT_EQ(store->usage()->size(), 1u);
}

// A server killed with -9 mid-create: its committed writes are in the WAL,
// the next open recovers them, and repair_after_restart hands back the
// endpoint that was loading and drops the one that was being deleted.
TEST(StoreFile, SurvivesKillMinusNine) {
  TempDir tmp;
  const auto path = tmp / "quarry.db";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto store = Store::open(path);
    EndpointConfig c;
    c.name = "cfg";
    const bool ok = store.ok() && store->create_endpoint_config(c).ok() &&
                    store->create_endpoint("loading", "cfg").ok() &&
                    store->create_endpoint("going", "cfg").ok() &&
                    store->set_endpoint_status("going", EndpointStatus::kDeleting).ok();
    if (ok) ::kill(::getpid(), SIGKILL);  // no destructor, no checkpoint
    ::_exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child failed: " << status;
  ASSERT_TRUE(std::filesystem::exists(path.string() + "-wal"));

  auto store = Store::open(path);
  ASSERT_TRUE(store.ok()) << store.message();
  auto repaired = store->repair_after_restart();
  ASSERT_TRUE(repaired.ok()) << repaired.message();
  ASSERT_EQ(repaired->to_load.size(), 1u);
  EXPECT_EQ(repaired->to_load[0].name, "loading");
  EXPECT_EQ(repaired->to_load[0].status, EndpointStatus::kCreating);
  EXPECT_EQ(repaired->deleted, std::vector<std::string>{"going"});
  EXPECT_EQ(store->get_endpoint("going").code(), StoreErrc::kNotFound);
}

TEST(StoreFile, MigrationsRecordTheVersionAndRunOnce) {
  TempDir tmp;
  const auto path = tmp / "quarry.db";
  EXPECT_GE(Store::latest_schema_version(), 1);
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    EXPECT_EQ(store->schema_version().value(), Store::latest_schema_version());
    ASSERT_TRUE(store->create_model(named("kept")).ok());
  }
  EXPECT_EQ(raw_sql(path, "PRAGMA user_version"), std::to_string(Store::latest_schema_version()));
  EXPECT_EQ(raw_sql(path, "PRAGMA application_id"), std::to_string(0x51727279));
  // Reopening applies nothing again: v1's CREATE TABLEs would fail if it did,
  // and the data is still there.
  for (int i = 0; i < 2; ++i) {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    EXPECT_EQ(store->schema_version().value(), Store::latest_schema_version());
    EXPECT_TRUE(store->get_model("kept").ok());
  }
  auto mem = Store::open_memory();
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->schema_version().value(), Store::latest_schema_version());
}

TEST(StoreFile, NewerSchemaIsRefusedClearly) {
  TempDir tmp;
  const auto path = tmp / "quarry.db";
  ASSERT_TRUE(Store::open(path).ok());
  const int newer = Store::latest_schema_version() + 1;
  raw_sql(path, "PRAGMA user_version = " + std::to_string(newer));
  auto store = Store::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.code(), StoreErrc::kTooNew);
  EXPECT_NE(store.message().find("schema version " + std::to_string(newer)), std::string::npos)
      << store.message();
  EXPECT_NE(store.message().find("newer quarry"), std::string::npos) << store.message();
  EXPECT_NE(store.message().find(path.string()), std::string::npos) << store.message();
}

TEST(StoreFile, NonSqliteFileIsAnErrorNotACrash) {
  TempDir tmp;
  const auto path = tmp / "quarry.db";
  std::string junk = "this is not a database\n";
  while (junk.size() < 8192) junk += junk;
  write_bytes(path, junk);
  auto store = Store::open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.code(), StoreErrc::kCorrupt);
  EXPECT_NE(store.message().find("is not a quarry database"), std::string::npos) << store.message();
  EXPECT_NE(store.message().find(path.string()), std::string::npos) << store.message();
  EXPECT_EQ(testing::read_bytes(path), junk);  // left untouched
}

TEST(StoreFile, DamagedDatabaseIsAnError) {
  TempDir tmp;
  const auto path = tmp / "quarry.db";
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 50; ++i) {
      // (Appending rather than "m" + to_string(i) avoids GCC 12's false
      // -Wrestrict warning at -O3.)
      std::string name = "m";
      name += std::to_string(i);
      ASSERT_TRUE(store->create_model(named(name)).ok());
    }
  }
  // Keep the valid header, overwrite the pages after it.
  std::string bytes = testing::read_bytes(path);
  ASSERT_GT(bytes.size(), 4096u);
  for (size_t i = 100; i < bytes.size(); ++i) bytes[i] = static_cast<char>(0xA5 ^ (i * 31));
  write_bytes(path, bytes);
  auto store = Store::open(path);
  if (store.ok()) {
    // Damage SQLite only notices when it reads the page: then it must be an
    // error, not a crash.
    auto got = store->list_models();
    EXPECT_FALSE(got.ok());
  } else {
    EXPECT_EQ(store.code(), StoreErrc::kCorrupt) << store.message();
  }
}

TEST(StoreFile, ForeignSqliteDatabaseIsRefused) {
  TempDir tmp;
  const auto other = tmp / "other.db";
  raw_sql(other, "CREATE TABLE notes (body TEXT)");
  auto store = Store::open(other);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.code(), StoreErrc::kCorrupt);
  EXPECT_NE(store.message().find("not quarry's"), std::string::npos) << store.message();

  const auto tagged = tmp / "tagged.db";
  raw_sql(tagged, "PRAGMA application_id = 42");
  auto store2 = Store::open(tagged);
  ASSERT_FALSE(store2.ok());
  EXPECT_EQ(store2.code(), StoreErrc::kCorrupt);
  EXPECT_NE(store2.message().find("another application"), std::string::npos) << store2.message();
}

TEST(StoreFile, UnusablePaths) {
  TempDir tmp;
  auto dir = Store::open(tmp.path());  // a directory
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.code(), StoreErrc::kIo);
  EXPECT_NE(dir.message().find(tmp.path().string()), std::string::npos) << dir.message();

  write_bytes(tmp / "file", "x");
  auto under_file = Store::open(tmp / "file/quarry.db");  // parent is a file
  ASSERT_FALSE(under_file.ok());
  EXPECT_EQ(under_file.code(), StoreErrc::kIo);

  EXPECT_EQ(Store::open("").code(), StoreErrc::kInvalidArgument);
}

}  // namespace
}  // namespace quarry::store
