#include "formats/hf_checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "formats/model_files.h"
#include "formats/safetensors_writer.h"
#include "test_util.h"

namespace quarry::formats {
namespace {

using ::testing::HasSubstr;
using testutil::TempDir;

// Re-shards tiny-a into `dir` with shards of at most `max_bytes`.
std::vector<std::string> reshard_tiny_a(const std::string& dir, uint64_t max_bytes,
                                        bool release_naming) {
  auto src = SafetensorsFile::open(testutil::tiny_a_dir() + "/model.safetensors");
  EXPECT_TRUE(src.ok()) << src.message();
  SafetensorsWriter w;
  for (const auto& t : src->tensors()) {
    EXPECT_TRUE(w.add({t.name, t.dtype, t.shape}, {t.data, t.nbytes}).ok());
  }
  auto files = w.write_sharded(dir, {max_bytes, release_naming});
  EXPECT_TRUE(files.ok()) << files.message();
  return files.ok() ? *files : std::vector<std::string>{};
}

void expect_same_tensors(const TensorSource& a, const TensorSource& b) {
  ASSERT_EQ(a.names().size(), b.names().size());
  for (const auto& name : a.names()) {
    const TensorInfo* x = a.find(name);
    const TensorInfo* y = b.find(name);
    ASSERT_NE(y, nullptr) << name;
    EXPECT_EQ(x->dtype, y->dtype) << name;
    EXPECT_EQ(x->shape, y->shape) << name;
    ASSERT_EQ(x->nbytes, y->nbytes) << name;
    EXPECT_EQ(0, std::memcmp(x->data, y->data, x->nbytes)) << name;
  }
}

TEST(HfCheckpoint, SingleFileFallback) {
  auto ck = open_hf_checkpoint(testutil::tiny_a_dir());
  ASSERT_TRUE(ck.ok()) << ck.message();
  EXPECT_FALSE(ck->sharded());
  EXPECT_EQ(ck->shards().size(), 1u);
  EXPECT_NE(ck->find("lm_head.weight"), nullptr);
  EXPECT_EQ(ck->origin(), testutil::tiny_a_dir());
}

TEST(HfCheckpoint, ReleaseShardNamesRoundTrip) {
  TempDir dir;
  auto single = SafetensorsFile::open(testutil::tiny_a_dir() + "/model.safetensors");
  ASSERT_TRUE(single.ok());
  uint64_t total = 0;
  for (const auto& t : single->tensors()) total += t.nbytes;
  const auto files = reshard_tiny_a(dir.path(), total / 3 + 1, /*release_naming=*/true);
  ASSERT_GE(files.size(), 3u);
  const std::string last = std::to_string(files.size() - 1);
  EXPECT_EQ(files[0], "model-00000-of-0000" + last + ".safetensors");
  EXPECT_EQ(files.back(), "model-0000" + last + "-of-0000" + last + ".safetensors");
  auto ck = open_hf_checkpoint(dir.path());
  ASSERT_TRUE(ck.ok()) << ck.message();
  EXPECT_TRUE(ck->sharded());
  EXPECT_EQ(ck->shards().size(), files.size());
  EXPECT_EQ(ck->data_bytes(), total);
  expect_same_tensors(*single, *ck);
  // The index is what the release has: metadata.total_size and a weight_map.
  auto text = read_file(dir.file("model.safetensors.index.json"));
  ASSERT_TRUE(text.ok());
  const auto index = nlohmann::json::parse(*text);
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), total);
  EXPECT_EQ(index["weight_map"].size(), single->tensors().size());
  // The generic opener takes the directory too.
  auto any = open_tensor_source(dir.path());
  ASSERT_TRUE(any.ok()) << any.message();
  expect_same_tensors(*single, **any);
}

TEST(HfCheckpoint, UsualHfShardNames) {
  TempDir dir;
  const auto files = reshard_tiny_a(dir.path(), 300'000, /*release_naming=*/false);
  ASSERT_GE(files.size(), 2u);
  EXPECT_EQ(files[0], "model-00001-of-0000" + std::to_string(files.size()) + ".safetensors");
  auto ck = open_hf_checkpoint(dir.path());
  ASSERT_TRUE(ck.ok()) << ck.message();
  EXPECT_EQ(ck->shards().size(), files.size());
}

TEST(HfCheckpointMalformed, MissingShard) {
  TempDir dir;
  const auto files = reshard_tiny_a(dir.path(), 300'000, true);
  ASSERT_GE(files.size(), 2u);
  std::filesystem::remove(dir.file(files[1]));
  auto ck = open_hf_checkpoint(dir.path());
  ASSERT_FALSE(ck.ok());
  EXPECT_THAT(ck.message(), HasSubstr(dir.file("model.safetensors.index.json") + ": shard '" +
                                      files[1] + "' named in weight_map"));
  EXPECT_THAT(ck.message(), HasSubstr("cannot open"));
}

TEST(HfCheckpointMalformed, IndexPointsAtAMissingTensor) {
  TempDir dir;
  const auto files = reshard_tiny_a(dir.path(), 300'000, true);
  const std::string index_path = dir.file("model.safetensors.index.json");
  auto index = nlohmann::json::parse(*read_file(index_path));
  index["weight_map"]["model.ghost.weight"] = files[0];
  testutil::write_text(index_path, index.dump(2));
  auto ck = open_hf_checkpoint(dir.path());
  ASSERT_FALSE(ck.ok());
  EXPECT_THAT(ck.message(), HasSubstr("weight_map puts tensor 'model.ghost.weight' in shard '" +
                                      files[0] + "', but that file has no such tensor"));
  EXPECT_THAT(ck.message(), HasSubstr("byte offset"));
}

TEST(HfCheckpointMalformed, TotalSizeMismatch) {
  TempDir dir;
  reshard_tiny_a(dir.path(), 300'000, true);
  const std::string index_path = dir.file("model.safetensors.index.json");
  auto index = nlohmann::json::parse(*read_file(index_path));
  const uint64_t real = index["metadata"]["total_size"];
  index["metadata"]["total_size"] = real + 2;
  testutil::write_text(index_path, index.dump(2));
  auto ck = open_hf_checkpoint(dir.path());
  ASSERT_FALSE(ck.ok());
  EXPECT_THAT(ck.message(), HasSubstr("metadata.total_size is " + std::to_string(real + 2) +
                                      " but the mapped tensors hold " + std::to_string(real)));
}

TEST(HfCheckpointMalformed, BadIndexFiles) {
  EXPECT_THAT(
      parse_hf_index("{\"weight_map\": {\"a\": \"../etc/x\"}}", "i.json").message(),
      HasSubstr("i.json: weight_map entry for tensor 'a' is not a relative shard file name"));
  EXPECT_THAT(parse_hf_index("{\"weight_map\": {\"a\": \"/abs\"}}", "i.json").message(),
              HasSubstr("not a relative shard file name"));
  EXPECT_THAT(parse_hf_index("{\"metadata\": {\"total_size\": -1}, \"weight_map\": {}}", "i.json")
                  .message(),
              HasSubstr("\"total_size\" -1 is not a byte count (byte offset 14)"));
  EXPECT_THAT(parse_hf_index("{}", "i.json").message(), HasSubstr("non-object \"weight_map\""));
  EXPECT_THAT(parse_hf_index("{", "i.json").message(),
              HasSubstr("i.json: index is not valid JSON"));
  auto ok = parse_hf_index(R"({"metadata": {"total_size": 10.0}, "weight_map": {"a": "s"}})", "i");
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(*ok->total_size, 10u);
  EXPECT_EQ(ok->weight_map.at("a"), "s");
}

TEST(HfCheckpointMalformed, EmptyDirectory) {
  TempDir dir;
  auto ck = open_hf_checkpoint(dir.path());
  ASSERT_FALSE(ck.ok());
  EXPECT_THAT(ck.message(), HasSubstr(dir.path() + ": neither model.safetensors.index.json nor"));
}

}  // namespace
}  // namespace quarry::formats
