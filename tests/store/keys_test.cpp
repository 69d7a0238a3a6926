// Access keys, API keys (hashed, never stored in clear), usage, and use from
// several threads at once.
#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "test_util.h"

namespace quarry::store {
namespace {

using testing::FakeClock;
using testing::TempDir;

class KeysTest : public ::testing::Test {
 protected:
  KeysTest() : store_(Store::open_memory(clock_.options()).value()) {}
  FakeClock clock_;
  Store store_;
};

TEST_F(KeysTest, AccessKeysCreateListRevokeLookup) {
  auto a = store_.create_access_key("laptop");
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_TRUE(std::regex_match(a->access_key_id, std::regex("AKIA[A-Z0-9]{16}")))
      << a->access_key_id;
  EXPECT_TRUE(std::regex_match(a->secret, std::regex("[A-Za-z0-9+/]{40}"))) << a->secret;
  EXPECT_EQ(a->description, "laptop");
  EXPECT_TRUE(a->active());

  auto b = store_.create_access_key("ci");
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->access_key_id, b->access_key_id);
  EXPECT_NE(a->secret, b->secret);

  auto found = store_.lookup_access_key(a->access_key_id);
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->secret, a->secret);
  EXPECT_EQ(store_.lookup_access_key("AKIANOTAREALKEY00000").code(), StoreErrc::kNotFound);

  ASSERT_TRUE(store_.revoke_access_key(a->access_key_id).ok());
  auto revoked = store_.lookup_access_key(a->access_key_id);
  EXPECT_EQ(revoked.code(), StoreErrc::kNotFound);
  EXPECT_TRUE(store_.lookup_access_key(b->access_key_id).ok());

  auto all = store_.list_access_keys();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].access_key_id, a->access_key_id);  // oldest first
  EXPECT_FALSE((*all)[0].active());
  EXPECT_EQ((*all)[0].secret, "");  // wiped on revoke
  EXPECT_TRUE((*all)[1].active());

  // Revoking again keeps the first time; unknown ids are an error.
  const double first = *(*all)[0].revoked_at;
  ASSERT_TRUE(store_.revoke_access_key(a->access_key_id).ok());
  EXPECT_EQ(*(*store_.list_access_keys())[0].revoked_at, first);
  EXPECT_EQ(store_.revoke_access_key("AKIAUNKNOWN000000000").code(), StoreErrc::kNotFound);
}

TEST_F(KeysTest, AccessKeysFromTheEnvironment) {
  // The §9 test credentials.
  auto k = store_.add_access_key("AKIAQUARRYEXAMPLE001", "quarryTestSecretKey/0123456789+abcdefghi",
                                 "kit");
  ASSERT_TRUE(k.ok()) << k.message();
  EXPECT_EQ(store_.lookup_access_key("AKIAQUARRYEXAMPLE001")->secret,
            "quarryTestSecretKey/0123456789+abcdefghi");
  EXPECT_EQ(store_.add_access_key("AKIAQUARRYEXAMPLE001", "x", "").code(),
            StoreErrc::kAlreadyExists);
  EXPECT_EQ(store_.add_access_key("akiaquarryexample001", "x", "").code(),
            StoreErrc::kInvalidArgument);
  EXPECT_EQ(store_.add_access_key("AKIASHORT", "x", "").code(), StoreErrc::kInvalidArgument);
  EXPECT_EQ(store_.add_access_key("AKIAQUARRYEXAMPLE002", "", "").code(),
            StoreErrc::kInvalidArgument);
  EXPECT_EQ(store_.add_access_key("AKIAQUARRYEXAMPLE002", "has space", "").code(),
            StoreErrc::kInvalidArgument);
}

TEST_F(KeysTest, ApiKeys) {
  auto created = store_.create_api_key("openai client");
  ASSERT_TRUE(created.ok()) << created.message();
  const std::string& key = created->plaintext;
  EXPECT_TRUE(std::regex_match(key, std::regex("qk-[A-Za-z0-9]{40}"))) << key;
  EXPECT_TRUE(std::regex_match(created->key.id, std::regex("[0-9a-f]{16}")));
  EXPECT_TRUE(std::regex_match(created->key.key_hash, std::regex("[0-9a-f]{64}")));
  EXPECT_EQ(created->key.prefix, key.substr(0, 8));
  EXPECT_EQ(created->key.description, "openai client");

  EXPECT_EQ(store_.verify_api_key(key), created->key.id);
  EXPECT_EQ(store_.verify_api_key(key.substr(0, 42) + (key[42] == 'a' ? "b" : "a")), std::nullopt);
  EXPECT_EQ(store_.verify_api_key(key + "x"), std::nullopt);
  EXPECT_EQ(store_.verify_api_key(""), std::nullopt);
  EXPECT_EQ(store_.verify_api_key("qk-"), std::nullopt);

  auto other = store_.create_api_key("other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(store_.verify_api_key(other->plaintext), other->key.id);

  ASSERT_TRUE(store_.revoke_api_key(created->key.id).ok());
  EXPECT_EQ(store_.verify_api_key(key), std::nullopt);
  EXPECT_EQ(store_.verify_api_key(other->plaintext), other->key.id);
  EXPECT_EQ(store_.revoke_api_key("0000000000000000").code(), StoreErrc::kNotFound);

  auto list = store_.list_api_keys();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_FALSE((*list)[0].active());
  EXPECT_EQ((*list)[0].key_hash, created->key.key_hash);
  EXPECT_TRUE((*list)[1].active());

  // A key chosen elsewhere (QUARRY_API_KEY, §9).
  auto added = store_.add_api_key("quarry-test-api-key-0001", "kit");
  ASSERT_TRUE(added.ok()) << added.message();
  EXPECT_EQ(added->prefix, "quarry-t");
  EXPECT_EQ(store_.verify_api_key("quarry-test-api-key-0001"), added->id);
  EXPECT_EQ(store_.verify_api_key("quarry-test-api-key-0002"), std::nullopt);
  EXPECT_EQ(store_.add_api_key("quarry-test-api-key-0001", "").code(), StoreErrc::kAlreadyExists);
  EXPECT_EQ(store_.add_api_key("short", "").code(), StoreErrc::kInvalidArgument);
  EXPECT_EQ(store_.add_api_key("with a space in it ok", "").code(), StoreErrc::kInvalidArgument);
}

TEST(KeysFile, ApiKeyPlaintextNeverReachesTheFile) {
  TempDir tmp;
  const auto path = tmp / "quarry.db";
  std::string plaintext;
  std::string hash;
  std::string imported_hash;
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok()) << store.message();
    auto k = store->create_api_key("k");
    ASSERT_TRUE(k.ok());
    plaintext = k->plaintext;
    hash = k->key.key_hash;
    imported_hash = store->add_api_key("quarry-test-api-key-0001", "kit")->key_hash;
    ASSERT_TRUE(store->verify_api_key(plaintext).has_value());
    // Check the WAL too, while it still holds the writes.
    const std::string wal = testing::read_bytes(path.string() + "-wal");
    EXPECT_EQ(wal.find(plaintext), std::string::npos);
    EXPECT_EQ(wal.find(plaintext.substr(8)), std::string::npos);
  }
  const std::string bytes = testing::read_bytes(path);
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(plaintext), std::string::npos);
  EXPECT_EQ(bytes.find(plaintext.substr(8)), std::string::npos);  // nor past the prefix
  EXPECT_EQ(bytes.find("quarry-test-api-key-0001"), std::string::npos);
  EXPECT_NE(bytes.find(hash), std::string::npos);  // the hash is what is kept
  EXPECT_NE(bytes.find(imported_hash), std::string::npos);
}

TEST_F(KeysTest, UsageAccumulates) {
  ASSERT_TRUE(store_.add_usage("key-a", "gpt-oss-20b", 10, 20, 5).ok());
  ASSERT_TRUE(store_.add_usage("key-a", "gpt-oss-20b", 1, 2, 0).ok());
  ASSERT_TRUE(store_.add_usage("key-a", "gpt-oss-120b", 7, 8, 1).ok());
  ASSERT_TRUE(store_.add_usage("AKIAQUARRYEXAMPLE001", "gpt-oss-20b", 3, 4, 2).ok());
  EXPECT_EQ(store_.add_usage("", "m", 1, 1, 0).code(), StoreErrc::kInvalidArgument);
  EXPECT_EQ(store_.add_usage("p", "m", -1, 1, 0).code(), StoreErrc::kInvalidArgument);

  auto rows = store_.usage();
  ASSERT_TRUE(rows.ok()) << rows.message();
  ASSERT_EQ(rows->size(), 3u);
  const UsageRow& akia = (*rows)[0];  // by principal, then model
  EXPECT_EQ(akia.principal, "AKIAQUARRYEXAMPLE001");
  EXPECT_EQ(akia.requests, 1);
  const UsageRow& big = (*rows)[1];
  EXPECT_EQ(big.model, "gpt-oss-120b");
  const UsageRow& small = (*rows)[2];
  EXPECT_EQ(small.principal, "key-a");
  EXPECT_EQ(small.model, "gpt-oss-20b");
  EXPECT_EQ(small.requests, 2);
  EXPECT_EQ(small.input_tokens, 11);
  EXPECT_EQ(small.output_tokens, 22);
  EXPECT_EQ(small.reasoning_tokens, 5);
  EXPECT_LT(small.first_used_at, small.last_used_at);
}

// Many threads on one Store over a real file: every write lands, counters add
// up exactly, and reads see consistent records throughout.
TEST(StoreThreads, ConcurrentUse) {
  TempDir tmp;
  auto opened = Store::open(tmp / "quarry.db");
  ASSERT_TRUE(opened.ok()) << opened.message();
  Store& store = *opened;
  EndpointConfig c;
  c.name = "cfg";
  ASSERT_TRUE(store.create_endpoint_config(c).ok());

  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &failures, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string name = "ep-" + std::to_string(t) + "-" + std::to_string(i);
        if (!store.create_endpoint(name, "cfg").ok()) ++failures;
        if (!store.set_endpoint_status(name, EndpointStatus::kInService).ok()) ++failures;
        if (!store.add_usage("shared", "m", 1, 2, 0).ok()) ++failures;
        if (i % 10 == 0 && !store.create_api_key("t").ok()) ++failures;
        auto got = store.get_endpoint(name);
        if (!got.ok() || got->status != EndpointStatus::kInService) ++failures;
        if (!store.list_endpoints().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  ListQuery q;
  q.max_results = 100;
  q.status_equals = EndpointStatus::kInService;
  std::set<std::string> names;
  for (;;) {
    auto page = store.list_endpoints(q);
    ASSERT_TRUE(page.ok()) << page.message();
    for (const auto& e : page->items) names.insert(e.name);
    if (page->next_token.empty()) break;
    q.next_token = page->next_token;
  }
  EXPECT_EQ(names.size(), size_t{kThreads * kPerThread});
  auto rows = store.usage();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].requests, kThreads * kPerThread);
  EXPECT_EQ((*rows)[0].output_tokens, 2 * kThreads * kPerThread);
  EXPECT_EQ(store.list_api_keys()->size(), size_t{kThreads * kPerThread / 10});
}

// Two Store objects on one file (a CLI command beside the server) see each
// other's writes; the busy timeout absorbs lock contention.
TEST(StoreThreads, TwoConnectionsOnOneFile) {
  TempDir tmp;
  auto a = Store::open(tmp / "quarry.db");
  auto b = Store::open(tmp / "quarry.db");
  ASSERT_TRUE(a.ok() && b.ok());
  std::thread ta([&a] {
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(a->add_usage("p", "m", 1, 0, 0).ok());
  });
  std::thread tb([&b] {
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(b->add_usage("p", "m", 1, 0, 0).ok());
  });
  ta.join();
  tb.join();
  auto k = b->create_access_key("from b");
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(a->lookup_access_key(k->access_key_id).ok());
  EXPECT_EQ((*a->usage())[0].requests, 100);
}

}  // namespace
}  // namespace quarry::store
