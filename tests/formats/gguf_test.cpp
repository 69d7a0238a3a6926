#include "formats/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "formats/ggml_types.h"
#include "formats/gguf_writer.h"
#include "formats/model_files.h"
#include "formats/mxfp4.h"
#include "formats/safetensors.h"
#include "test_util.h"

namespace quarry::formats {
namespace {

using ::testing::HasSubstr;
using testutil::Bytes;
using testutil::TempDir;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return v;
}

GgufFile parse_ok(const std::vector<uint8_t>& bytes) {
  auto f = GgufFile::parse(bytes, "t.gguf");
  EXPECT_TRUE(f.ok()) << f.message();
  return f.ok() ? std::move(f).value() : GgufFile();
}

TEST(Gguf, AllValueTypesRoundTrip) {
  GgufWriter w;
  w.set_string("general.architecture", "gpt-oss");
  w.set_u8("v.u8", 200);
  w.set_i8("v.i8", -100);
  w.set_u16("v.u16", 60000);
  w.set_i16("v.i16", -30000);
  w.set_u32("v.u32", 4000000000u);
  w.set_i32("v.i32", -2000000000);
  w.set_f32("v.f32", 1.5f);
  w.set_bool("v.bool", true);
  w.set_u64("v.u64", 18000000000000000000ull);
  w.set_i64("v.i64", -9000000000000000000ll);
  w.set_f64("v.f64", -2.25);
  w.set_string("v.str", std::string("with\0nul", 8));
  w.set_string_array("v.arr_str", {"a", "", "Ġhello"});
  const std::vector<int32_t> i32s = {1, -2, 3};
  w.set_array<int32_t>("v.arr_i32", i32s);
  const std::vector<float> f32s = {0.5f, -1.0f};
  w.set_array<float>("v.arr_f32", f32s);
  const std::vector<uint64_t> u64s = {};
  w.set_array<uint64_t>("v.arr_empty", u64s);
  w.set("v.arr_bool", GgufValue::bool_array({true, false, true}));
  const std::vector<uint8_t> inner_a = {1, 2};
  w.set("v.arr_arr", GgufValue::array_of_arrays(
                         {GgufValue::array<uint8_t>(inner_a), GgufValue::string_array({"x"})}));
  w.set_u32("v.u32", 7);  // replaces, keeps the position
  auto bytes = w.serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.message();
  const GgufFile f = parse_ok(*bytes);
  EXPECT_EQ(f.version(), 3u);
  ASSERT_EQ(f.kvs().size(), 19u);
  EXPECT_EQ(f.kvs()[5].key, "v.u32");
  EXPECT_EQ(*f.get_u32("v.u8"), 200u);
  EXPECT_EQ(*f.get_i64("v.i8"), -100);
  EXPECT_EQ(*f.get_u32("v.u16"), 60000u);
  EXPECT_EQ(*f.get_i64("v.i16"), -30000);
  EXPECT_EQ(*f.get_u32("v.u32"), 7u);
  EXPECT_EQ(*f.get_i64("v.i32"), -2000000000);
  EXPECT_EQ(*f.get_f32("v.f32"), 1.5f);
  EXPECT_EQ(*f.get_bool("v.bool"), true);
  EXPECT_EQ(*f.get_u64("v.u64"), 18000000000000000000ull);
  EXPECT_EQ(*f.get_i64("v.i64"), -9000000000000000000ll);
  EXPECT_EQ(*f.get_f32("v.f32"), 1.5f);
  EXPECT_EQ(f.value("v.f64")->as_f64(), -2.25);
  EXPECT_EQ(*f.get_string("v.str"), std::string_view("with\0nul", 8));
  EXPECT_EQ(*f.get_string("general.architecture"), "gpt-oss");
  auto strs = f.get_string_array("v.arr_str");
  ASSERT_TRUE(strs.ok());
  EXPECT_EQ(std::vector<std::string>(strs->begin(), strs->end()),
            (std::vector<std::string>{"a", "", "Ġhello"}));
  EXPECT_EQ(*f.get_int_array("v.arr_i32"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(*f.get_f32_array("v.arr_f32"), (std::vector<float>{0.5f, -1.0f}));
  EXPECT_TRUE(f.get_int_array("v.arr_empty")->empty());
  EXPECT_EQ(f.value("v.arr_bool")->raw().size(), 3u);
  const GgufValue* nested = f.value("v.arr_arr");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->arrays().size(), 2u);
  EXPECT_EQ(nested->arrays()[1].strings()[0], "x");
  EXPECT_EQ(nested->type_string(), "arr[arr]");
  // Every value survives bit for bit.
  GgufWriter again;
  for (const auto& kv : f.kvs()) again.set(kv.key, kv.value);
  EXPECT_EQ(*again.serialize(), *bytes);
  EXPECT_TRUE(f.tensors().empty());
}

TEST(Gguf, TypedGettersExplainWrongTypes) {
  GgufWriter w;
  w.set_string("k.str", "hi");
  w.set_i32("k.neg", -1);
  w.set_u64("k.big", 1ull << 40);
  w.set_f32("k.f", 2.0f);
  const GgufFile f = parse_ok(*w.serialize());
  EXPECT_THAT(f.get_u32("k.str").message(),
              HasSubstr("t.gguf: key 'k.str' (byte offset 24) holds str \"hi\", expected u32"));
  EXPECT_THAT(f.get_u32("k.neg").message(), HasSubstr("holds i32 -1, expected u32"));
  EXPECT_THAT(f.get_u32("k.big").message(), HasSubstr("holds u64 1099511627776, expected u32"));
  EXPECT_EQ(*f.get_u64("k.big"), 1ull << 40);
  EXPECT_THAT(f.get_string("k.f").message(), HasSubstr("holds f32 2, expected str"));
  EXPECT_THAT(f.get_f32("k.neg").message(), HasSubstr("expected f32"));
  EXPECT_THAT(f.get_string_array("k.str").message(), HasSubstr("expected arr[str]"));
  EXPECT_THAT(f.get_u32("k.missing").message(), HasSubstr("t.gguf: key 'k.missing' is missing"));
  EXPECT_FALSE(f.has("k.missing"));
}

struct TensorCase {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape;
};

const std::vector<TensorCase> kTensorCases = {
    {"t.f32", DType::kF32, {3, 5}},
    {"t.f16", DType::kF16, {7}},
    {"t.bf16", DType::kBF16, {2, 3, 4}},
    {"t.q8_0", DType::kQ8_0, {2, 64}},
    {"t.mxfp4", DType::kMXFP4, {2, 3, 32}},
    {"t.i8", DType::kI8, {5}},
    {"t.i16", DType::kI16, {1, 1, 1, 3}},
    {"t.i32", DType::kI32, {4, 1}},
    {"t.i64", DType::kI64, {2}},
    {"t.f64", DType::kF64, {1}},
    {"t.scalar", DType::kF32, {}},
};

void check_tensor_round_trip(uint32_t alignment) {
  GgufWriter w;
  w.set_string("general.architecture", "test");
  if (alignment != 32) w.set_alignment(alignment);
  for (size_t i = 0; i < kTensorCases.size(); ++i) {
    const auto& c = kTensorCases[i];
    const uint64_t n = *dtype_nbytes(c.dtype, *checked_numel(c.shape));
    ASSERT_TRUE(w.add_tensor({c.name, c.dtype, c.shape}, pattern(n, uint8_t(i))).ok()) << c.name;
  }
  auto bytes = w.serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.message();
  const GgufFile f = parse_ok(*bytes);
  EXPECT_EQ(f.alignment(), alignment);
  EXPECT_EQ(f.data_start() % alignment, 0u);
  ASSERT_EQ(f.tensors().size(), kTensorCases.size());
  uint64_t expected_offset = f.data_start();  // llama.cpp: offsets are the running padded sum
  for (size_t i = 0; i < kTensorCases.size(); ++i) {
    const auto& c = kTensorCases[i];
    const TensorInfo& t = f.tensors()[i];
    EXPECT_EQ(t.name, c.name);
    EXPECT_EQ(t.dtype, c.dtype) << c.name;
    EXPECT_EQ(t.shape, c.shape.empty() ? std::vector<uint64_t>{1} : c.shape) << c.name;
    EXPECT_EQ(t.file_offset, expected_offset) << c.name;
    EXPECT_EQ(t.file_offset % alignment, 0u) << c.name;
    EXPECT_EQ(std::vector<uint8_t>(t.data, t.data + t.nbytes), pattern(t.nbytes, uint8_t(i)));
    expected_offset += (t.nbytes + alignment - 1) / alignment * alignment;
  }
  EXPECT_EQ(bytes->size(), expected_offset);  // the last tensor is padded too
}

TEST(Gguf, AllTensorTypesRoundTripAtDefaultAlignment) { check_tensor_round_trip(32); }
TEST(Gguf, AllTensorTypesRoundTripAtOtherAlignments) {
  check_tensor_round_trip(64);
  check_tensor_round_trip(1);
  check_tensor_round_trip(4096);
}

// The exact bytes llama.cpp's gguf_write_out produces for a tiny file.
TEST(Gguf, ByteLayoutMatchesGgufCpp) {
  GgufWriter w;
  w.set_string("general.architecture", "gpt-oss");
  w.set_string_array("tokenizer.ggml.tokens", {"a", "bc"});
  const std::vector<float> data = {1.0f, 2.0f, 3.0f};
  ASSERT_TRUE(
      w.add_tensor({"w", DType::kF32, {1, 3}}, {reinterpret_cast<const uint8_t*>(data.data()), 12})
          .ok());
  Bytes want;
  want.raw("GGUF").u32(3).u64(1).u64(2);
  want.str("general.architecture").u32(8).str("gpt-oss");
  want.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(2).str("a").str("bc");
  want.str("w").u32(2).i64(3).i64(1).u32(0).u64(0);
  want.pad_to(32);
  want.le(1.0f).le(2.0f).le(3.0f).pad_to(32);
  EXPECT_EQ(*w.serialize(), want.vec());
}

TEST(Gguf, Mxfp4TensorFromTinyA) {
  auto st = SafetensorsFile::open(testutil::tiny_a_dir() + "/model.safetensors");
  ASSERT_TRUE(st.ok()) << st.message();
  const TensorInfo* blocks = st->find("model.layers.0.mlp.experts.down_proj_blocks");
  const TensorInfo* scales = st->find("model.layers.0.mlp.experts.down_proj_scales");
  ASSERT_TRUE(blocks && scales);
  const auto& s = scales->shape;  // [E, N, G]
  std::vector<uint8_t> ggml(scales->nbytes * kMxfp4GgmlBlockBytes);
  ASSERT_TRUE(
      mxfp4_hf_to_ggml({blocks->data, blocks->nbytes}, {scales->data, scales->nbytes}, ggml).ok());
  GgufWriter w;
  ASSERT_TRUE(
      w.add_tensor({"blk.0.ffn_down_exps.weight", DType::kMXFP4, {s[0], s[1], s[2] * 32}}, ggml)
          .ok());
  TempDir dir;
  ASSERT_TRUE(w.write(dir.file("m.gguf")).ok());
  auto f = GgufFile::open(dir.file("m.gguf"));
  ASSERT_TRUE(f.ok()) << f.message();
  const TensorInfo* t = f->find("blk.0.ffn_down_exps.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<uint64_t>{s[0], s[1], s[2] * 32}));
  EXPECT_TRUE(mxfp4_check_ggml_scales(*t).ok());
  for (uint64_t b = 0; b < scales->nbytes; ++b) {
    float a[32], c[32];
    mxfp4_decode_hf_block(blocks->data + b * 16, scales->data[b], a);
    mxfp4_decode_ggml_block(t->data + b * 17, c);
    ASSERT_EQ(0, std::memcmp(a, c, sizeof(a))) << b;
  }
  auto any = open_tensor_source(dir.file("m.gguf"));
  ASSERT_TRUE(any.ok()) << any.message();
  EXPECT_NE((*any)->find("blk.0.ffn_down_exps.weight"), nullptr);
}

TEST(Gguf, WriterRejectsWhatLlamaCppWouldNot) {
  GgufWriter w;
  EXPECT_THAT(w.add_tensor({std::string(64, 'n'), DType::kF32, {1}}, pattern(4, 0)).message(),
              HasSubstr("name must be 1..63 bytes"));
  EXPECT_THAT(w.add_tensor({"u", DType::kU8, {1}}, pattern(1, 0)).message(),
              HasSubstr("dtype U8 has no ggml type"));
  EXPECT_THAT(w.add_tensor({"m", DType::kMXFP4, {32, 16}}, pattern(17 * 16, 0)).message(),
              HasSubstr("innermost dimension 16 is not a multiple of the 32-value block"));
  EXPECT_THAT(w.add_tensor({"f", DType::kF32, {2}}, pattern(7, 0)).message(),
              HasSubstr("needs 8 bytes, got 7"));
  EXPECT_THAT(w.add_tensor({"five", DType::kF32, {1, 1, 1, 1, 1}}, pattern(4, 0)).message(),
              HasSubstr("more than 4 dimensions"));
  GgufWriter bad_align;
  bad_align.set_alignment(48);
  EXPECT_THAT(bad_align.serialize().message(), HasSubstr("power-of-two u32"));
  GgufWriter wrong_type;
  wrong_type.set_u64("general.alignment", 64);
  EXPECT_THAT(wrong_type.serialize().message(), HasSubstr("general.alignment"));
}

// ---- malformed input ----

std::string error_of(const std::vector<uint8_t>& bytes) {
  auto f = GgufFile::parse(bytes, "bad.gguf");
  return f.ok() ? std::string("(parsed)") : f.message();
}

Bytes header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
  Bytes b;
  b.raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  return b;
}

// One tensor info: name, dims (fastest first), ggml type, offset.
Bytes& tensor_info(Bytes& b, const std::string& name, std::vector<int64_t> ne, uint32_t type,
                   uint64_t offset) {
  b.str(name).u32(static_cast<uint32_t>(ne.size()));
  for (int64_t d : ne) b.i64(d);
  return b.u32(type).u64(offset);
}

TEST(GgufMalformed, HeaderErrors) {
  EXPECT_THAT(error_of(Bytes().raw("GGUX").zeros(40).vec()),
              HasSubstr("bad.gguf: header: bad magic: not a GGUF file (byte offset 0)"));
  EXPECT_THAT(error_of(Bytes().raw("GG").vec()), HasSubstr("bad magic"));
  EXPECT_THAT(error_of(header(0, 0, 1).vec()),
              HasSubstr("GGUF version 1 is not supported (byte offset 4)"));
  EXPECT_THAT(error_of(header(0, 0, 4).vec()), HasSubstr("unsupported GGUF version 4"));
  EXPECT_THAT(error_of(header(0, 0, 0x03000000).vec()), HasSubstr("byte-swapped"));
  EXPECT_THAT(error_of(Bytes().raw("GGUF").u32(3).u64(0).vec()),
              HasSubstr("key/value count needs 8 bytes but the file ends at 16 (byte offset 16)"));
  EXPECT_EQ(error_of(header(0, 0, 2).vec()), "(parsed)");  // v2 has the v3 layout
}

TEST(GgufMalformed, HugeCountsAreRejectedBeforeAllocating) {
  EXPECT_THAT(error_of(header(~uint64_t{0} / 2, 0).zeros(64).vec()),
              HasSubstr("tensors and 0 key/values cannot fit in the 64 bytes after the header"));
  EXPECT_THAT(error_of(header(0, uint64_t{1} << 62).vec()), HasSubstr("cannot fit"));
  // An array claiming 2^60 strings.
  Bytes b = header(0, 1);
  b.str("k").u32(9).u32(8).u64(uint64_t{1} << 60).zeros(16);
  EXPECT_THAT(error_of(b.vec()), HasSubstr("bad.gguf: key 'k': array of 1152921504606846976 str "
                                           "items runs past the end of the file (16 bytes left) "
                                           "(byte offset 37)"));
}

TEST(GgufMalformed, StringLengthPastTheEnd) {
  Bytes b = header(0, 1);
  b.u64(1000).raw("abc").zeros(10);
  EXPECT_THAT(error_of(b.vec()),
              HasSubstr("bad.gguf: key/value #0: key length 1000 runs past the end of the file "
                        "(13 bytes left) (byte offset 24)"));
  Bytes v = header(0, 1);
  v.str("general.name").u32(8).u64(~uint64_t{0}).raw("x");
  EXPECT_THAT(error_of(v.vec()), HasSubstr("key 'general.name': string value length"));
}

TEST(GgufMalformed, KeyAndValueErrors) {
  Bytes bad_type = header(0, 1);
  bad_type.str("k").u32(13).u32(0);
  EXPECT_THAT(error_of(bad_type.vec()),
              HasSubstr("key 'k': invalid value type 13 (byte offset 33)"));
  Bytes dup = header(0, 2);
  dup.str("k").u32(4).u32(1).str("k").u32(4).u32(2);
  EXPECT_THAT(error_of(dup.vec()), HasSubstr("key 'k': duplicate key (byte offset 41)"));
  Bytes empty_key = header(0, 1);
  empty_key.str("").u32(0).u8(0);
  EXPECT_THAT(error_of(empty_key.vec()), HasSubstr("empty key"));
  Bytes deep = header(0, 1);
  deep.str("k").u32(9);
  for (int i = 0; i < 6; ++i) deep.u32(9).u64(1);
  deep.zeros(32);
  EXPECT_THAT(error_of(deep.vec()), HasSubstr("arrays nested deeper than 4"));
  Bytes align = header(0, 1);
  align.str("general.alignment").u32(4).u32(48);
  EXPECT_THAT(error_of(align.vec()),
              HasSubstr("key 'general.alignment': alignment 48 (u32) is not a power of two"));
}

TEST(GgufMalformed, TensorInfoErrors) {
  auto one = [](std::vector<int64_t> ne, uint32_t type, uint64_t offset, size_t data) {
    Bytes b = header(1, 0);
    tensor_info(b, "blk.0.w", std::move(ne), type, offset).pad_to(32).zeros(data);
    return error_of(b.vec());
  };
  EXPECT_THAT(one({1, 1, 1, 1, 1}, 0, 0, 4),
              HasSubstr("bad.gguf: tensor 'blk.0.w': 5 dimensions (at most 4) (byte offset 39)"));
  EXPECT_THAT(one({-2}, 0, 0, 8), HasSubstr("negative dimension -2 (byte offset 43)"));
  EXPECT_THAT(one({4}, 99, 0, 16),
              HasSubstr("tensor 'blk.0.w': unknown ggml type 99 (byte offset 51)"));
  EXPECT_THAT(one({256}, 12, 0, 144), HasSubstr("ggml type Q4_K (12) is not supported"));
  EXPECT_THAT(one({16}, kGgmlMXFP4, 0, 17), HasSubstr("row of 16 MXFP4 values is not a whole "
                                                      "number of 32-value blocks"));
  EXPECT_THAT(one({1ll << 62, 1ll << 62}, 0, 0, 4), HasSubstr("overflows 64-bit byte counts"));
  EXPECT_THAT(one({8}, 0, 0, 16),
              HasSubstr("tensor 'blk.0.w': data [0, +32) from data section start 64 runs past the "
                        "end of the file (80 bytes) (byte offset 24)"));
  EXPECT_THAT(
      one({4}, 0, 8, 64),
      HasSubstr("data offset 8 is not a multiple of the 32-byte alignment (byte offset 24)"));
  EXPECT_THAT(one({4}, 0, ~uint64_t{0} - 31, 64), HasSubstr("runs past the end of the file"));
  EXPECT_EQ(one({4}, 0, 0, 16), "(parsed)");
}

TEST(GgufMalformed, OverlapsAndDuplicates) {
  Bytes b = header(2, 0);
  tensor_info(b, "a", {16}, 0, 0);
  tensor_info(b, "b", {4}, 0, 32);
  b.pad_to(32).zeros(64);
  EXPECT_THAT(error_of(b.vec()),
              HasSubstr("tensor 'b': data overlaps tensor 'a' at byte offset 96 (64 bytes) "
                        "(byte offset 128)"));
  Bytes d = header(2, 0);
  tensor_info(d, "a", {4}, 0, 0);
  tensor_info(d, "a", {4}, 0, 32);
  d.pad_to(32).zeros(64);
  EXPECT_THAT(error_of(d.vec()), HasSubstr("tensor 'a': duplicate tensor name"));
}

TEST(GgufMalformed, EveryPrefixOfAFileFailsCleanly) {
  GgufWriter w;
  w.set_string("general.architecture", "gpt-oss");
  w.set_string_array("a", {"x", "yz"});
  w.set("n", GgufValue::array_of_arrays({GgufValue::string_array({"q"})}));
  ASSERT_TRUE(w.add_tensor({"t", DType::kF32, {2, 2}}, pattern(16, 1)).ok());
  ASSERT_TRUE(w.add_tensor({"m", DType::kMXFP4, {32}}, pattern(17, 2)).ok());
  auto full = w.serialize();
  ASSERT_TRUE(full.ok());
  for (size_t n = 0; n < full->size(); ++n) {
    std::vector<uint8_t> prefix(full->begin(), full->begin() + n);
    auto f = GgufFile::parse(prefix, "p.gguf");
    // The final padding after the last tensor is not needed to read it.
    if (n >= full->size() - 15) continue;
    EXPECT_FALSE(f.ok()) << n;
    if (!f.ok()) {
      EXPECT_THAT(f.message(), HasSubstr("p.gguf: ")) << n;
    }
  }
}

TEST(GgufMalformed, TruncatedFileOnDisk) {
  GgufWriter w;
  ASSERT_TRUE(w.add_tensor({"big", DType::kBF16, {1000}}, pattern(2000, 3)).ok());
  TempDir dir;
  ASSERT_TRUE(w.write(dir.file("x.gguf")).ok());
  auto bytes = testutil::read_bytes(dir.file("x.gguf"));
  bytes.resize(bytes.size() / 2);
  testutil::write_bytes(dir.file("x.gguf"), bytes);
  auto f = GgufFile::open(dir.file("x.gguf"));
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.message(), HasSubstr(dir.file("x.gguf") + ": tensor 'big': data [0, +2000)"));
}

}  // namespace
}  // namespace quarry::formats
