#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "base/utf8.h"
#include "tokenizer/bpe.h"
#include "tokenizer/tokenizer_impl.h"

namespace quarry::tokenizer {
namespace {

const Tokenizer& tok() {
  static const Tokenizer t = [] {
    auto r = Tokenizer::load(QUARRY_RANKS_FILE);
    if (!r.ok()) std::abort();
    return std::move(r).value();
  }();
  return t;
}

std::vector<std::string> pieces(std::string_view text) {
  std::vector<std::string> out;
  for (auto p : tok().pretokenize(text)) out.emplace_back(p);
  return out;
}

using V = std::vector<std::string>;

TEST(Pretokenizer, SpecExamples) {
  EXPECT_EQ(pieces("HTTPServer XMLHttpRequest camelCase"),
            (V{"HTTPServer", " XMLHttp", "Request", " camel", "Case"}));
  EXPECT_EQ(pieces("I'm they'll DON'T"), (V{"I'm", " they'll", " DON'T"}));
  EXPECT_EQ(pieces("foo.bar(baz)"), (V{"foo", ".bar", "(baz", ")"}));
  EXPECT_EQ(pieces("path/to/\nfile"), (V{"path", "/to", "/\n", "file"}));
  EXPECT_EQ(pieces("hello  \n\n\n  world"), (V{"hello", "  \n\n\n", " ", " world"}));
  EXPECT_EQ(pieces("a   b"), (V{"a", "  ", " b"}));
  EXPECT_EQ(pieces("1234567"), (V{"123", "456", "7"}));
}

TEST(Pretokenizer, WhitespaceIsUnicodeWhiteSpaceExactly) {
  // U+0085 (NEL) and U+3000 are White_Space; U+FEFF and U+200B are not.
  EXPECT_EQ(pieces("a\xC2\x85\xC2\x85"
                   "b"),
            (V{"a", "\xC2\x85",
               "\xC2\x85"
               "b"}));
  EXPECT_EQ(pieces("x\xEF\xBB\xBF\xEF\xBB\xBFy").size(), 3u);
  EXPECT_EQ(tok().encode_ordinary("x\xEF\xBB\xBF\xEF\xBB\xBFy"),
            (std::vector<TokenId>{87, 135153, 88}));
}

TEST(Pretokenizer, KnowsLettersNewerThanPcre2sUnicodeTables) {
  // U+0897 (a mark added in Unicode 16) joins the word piece, as in tiktoken.
  EXPECT_EQ(tok().encode_ordinary("\u0897's"), (std::vector<TokenId>{156, 95, 245, 885}));
  // U+1C89 (Lu, Unicode 16) followed by a lowercase letter is one word piece.
  EXPECT_EQ(pieces("\u1C89a b").size(), 2u);
}

TEST(Pretokenizer, CoversTextEvenWithInvalidUtf8) {
  const std::string text = "ab\xFF\xFE cd\xE4\xB8 \x80xyz  ";
  std::string joined;
  for (auto p : tok().pretokenize(text)) joined.append(p);
  EXPECT_EQ(joined, text);
  auto back = tok().decode_bytes(tok().encode_ordinary(text));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value(), text);
}

TEST(Bpe, ScanAndHeapAgreeOnRandomPieces) {
  const Vocab& vocab = []() -> const Vocab& {
    static Vocab v;
    std::vector<std::string> toks;
    for (uint32_t r = 0; r < kNumMergeable; ++r) toks.emplace_back(tok().token_bytes(r));
    std::string err;
    EXPECT_TRUE(v.build(toks, err)) << err;
    return v;
  }();
  std::mt19937 rng(7);
  const std::string alphabet = "aaaabbbcde   \n\t..,,xyzAEIOU01";
  for (int iter = 0; iter < 2000; ++iter) {
    std::string piece;
    const int n = 1 + static_cast<int>(rng() % 120);
    for (int i = 0; i < n; ++i) piece.push_back(alphabet[rng() % alphabet.size()]);
    std::vector<uint32_t> a, b;
    bpe_encode_scan(vocab, piece, a);
    bpe_encode_heap(vocab, piece, b);
    ASSERT_EQ(a, b) << piece;
  }
}

TEST(Tokenizer, LongPiecesAreFastAndExact) {
  const std::string spaces(100000, ' ');
  const auto ids = tok().encode_ordinary(spaces);
  EXPECT_EQ(tok().decode_bytes(ids).value(), spaces);
  const std::string letters(100000, 'a');
  EXPECT_EQ(tok().decode_bytes(tok().encode_ordinary(letters)).value(), letters);
}

TEST(Tokenizer, SpecialTokens) {
  EXPECT_EQ(tok().encode("<|start|>user<|message|>hi<|end|>", Specials::kAll),
            (std::vector<TokenId>{200006, 1428, 200008, 3686, 200007}));
  // Both names of 200018 are accepted; it decodes as <|reserved_200018|>.
  EXPECT_EQ(tok().encode("<|endofprompt|>", Specials::kAll), (std::vector<TokenId>{200018}));
  EXPECT_EQ(tok().encode("<|reserved_200018|>", Specials::kAll), (std::vector<TokenId>{200018}));
  EXPECT_EQ(tok().decode(std::vector<TokenId>{200018}).value(), "<|reserved_200018|>");
  EXPECT_EQ(tok().encode("<|reserved_201087|>", Specials::kAll), (std::vector<TokenId>{201087}));
  // Not specials: one past the vocabulary, leading zero, unterminated, nested.
  for (const char* text : {"<|reserved_201088|>", "<|reserved_0200010|>", "<|start", "<|<|end|>"}) {
    const auto ids = tok().encode(text, Specials::kAll);
    EXPECT_EQ(tok().decode(ids).value(), text);
  }
  EXPECT_EQ(tok().encode("<|<|end|>", Specials::kAll).back(), kEnd);
  EXPECT_TRUE(tok().is_special(kStart));
  EXPECT_FALSE(tok().is_special(199997));
  EXPECT_EQ(tok().special_id("<|call|>"), std::optional<TokenId>(kCall));
}

TEST(Tokenizer, DecodeRejectsUnknownIds) {
  auto r = tok().decode(std::vector<TokenId>{1, 2, kVocabSize});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("ids[2]"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("201088"), std::string::npos) << r.message();
}

TEST(IncrementalDecoder, NeverSplitsACharacter) {
  const std::string text = "naïve café 中文 😀👨‍👩‍👧 done \xE4\xB8 end";
  const auto ids = tok().encode_ordinary(text);
  IncrementalDecoder dec(tok());
  std::string streamed;
  for (TokenId id : ids) {
    const std::string piece = dec.push(id);
    EXPECT_TRUE(utf8::is_valid(piece));
    streamed += piece;
  }
  streamed += dec.flush();
  EXPECT_EQ(streamed, utf8::to_valid_lossy(text));
}

TEST(IncrementalDecoder, HoldsBackAPartialCharacter) {
  IncrementalDecoder dec(tok());
  EXPECT_EQ(dec.push_bytes("a\xF0\x9F"), "a");
  EXPECT_TRUE(dec.has_pending());
  EXPECT_EQ(dec.push_bytes("\x98"), "");
  EXPECT_EQ(dec.push_bytes("\x80!"), "\xF0\x9F\x98\x80!");
  EXPECT_EQ(dec.push_bytes("\xE4"), "");
  EXPECT_EQ(dec.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(dec.push(kVocabSize + 5), "\xEF\xBF\xBD");
}

TEST(Loaders, HfTokenizerJsonRoundTrip) {
  const std::string json = tok().to_hf_tokenizer_json();
  auto hf = Tokenizer::from_hf_tokenizer_json_text(json, "tokenizer.json");
  ASSERT_TRUE(hf.ok()) << hf.message();
  for (TokenId id : {0u, 220u, 1000u, 150000u, 199997u, 200006u}) {
    EXPECT_EQ(hf->token_bytes(id), tok().token_bytes(id));
  }
  const std::string text = "Hello wörld! 中文 😀 <|start|>  \n\n x=1234567";
  EXPECT_EQ(hf->encode_ordinary(text), tok().encode_ordinary(text));
  // A model directory holding tokenizer.json loads too.
  const auto dir = std::filesystem::temp_directory_path() / "quarry_tok_dir_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << json;
  auto from_dir = Tokenizer::load(dir.string());
  ASSERT_TRUE(from_dir.ok()) << from_dir.message();
  EXPECT_EQ(from_dir->encode_ordinary(text), tok().encode_ordinary(text));
  std::filesystem::remove_all(dir);
}

TEST(Loaders, HfMergesAreDerivedForEveryMultiByteToken) {
  const std::string json = tok().to_hf_tokenizer_json();
  const size_t merges = json.find("\"merges\":[");
  ASSERT_NE(merges, std::string::npos);
  EXPECT_NE(json.find("\"\xC4\xA0 t\"", merges), std::string::npos);  // "Ġ t" makes " t"
  // One merge per token longer than a byte: 199998 - 256 in all, and each is
  // two tokens whose concatenation is a token.
  const auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["model"]["merges"].size(), kNumMergeable - 256);
}

TEST(Loaders, GgufTokenList) {
  std::vector<std::string> tokens;
  for (TokenId id = 0; id < kVocabSize; ++id) {
    tokens.push_back(id < kNumMergeable ? bytes_to_hf_unicode(tok().token_bytes(id))
                                        : std::string(tok().token_bytes(id)));
  }
  auto g = Tokenizer::from_gguf_tokens(tokens, "gpt-4o", "model.gguf");
  ASSERT_TRUE(g.ok()) << g.message();
  EXPECT_EQ(g->encode_ordinary("gguf vocab ✓"), tok().encode_ordinary("gguf vocab ✓"));
  EXPECT_FALSE(Tokenizer::from_gguf_tokens(tokens, "llama3", "m.gguf").ok());
  tokens[200006] = "<|begin|>";
  auto bad = Tokenizer::from_gguf_tokens(tokens, "gpt-4o", "m.gguf");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("tokens[200006]"), std::string::npos) << bad.message();
}

TEST(Loaders, MalformedFilesGivePreciseErrors) {
  auto e1 = Tokenizer::from_tiktoken_text("IQ== 0\nIg== 2\n", "r.tiktoken");
  ASSERT_FALSE(e1.ok());
  EXPECT_NE(e1.message().find("r.tiktoken:2: rank 2 out of order"), std::string::npos)
      << e1.message();
  auto e2 = Tokenizer::from_tiktoken_text("I!== 0\n", "r.tiktoken");
  ASSERT_FALSE(e2.ok());
  EXPECT_NE(e2.message().find("r.tiktoken:1: invalid base64"), std::string::npos) << e2.message();
  auto e3 = Tokenizer::from_tiktoken_text("IQ== 0\n", "r.tiktoken");
  ASSERT_FALSE(e3.ok());
  EXPECT_NE(e3.message().find("expected 199998"), std::string::npos) << e3.message();
  auto e4 = Tokenizer::from_hf_tokenizer_json_text("{\"model\": {\"vocab\": []}}", "t.json");
  ASSERT_FALSE(e4.ok());
  EXPECT_NE(e4.message().find("model.vocab"), std::string::npos) << e4.message();
  EXPECT_FALSE(Tokenizer::from_hf_tokenizer_json_text("{\"model\": ", "t.json").ok());
  auto e5 = Tokenizer::load("/nonexistent/quarry/ranks.tiktoken");
  ASSERT_FALSE(e5.ok());
  EXPECT_NE(e5.message().find("/nonexistent/quarry/ranks.tiktoken"), std::string::npos);
}

}  // namespace
}  // namespace quarry::tokenizer
