// The transcript printer of `quarry generate --prompt`: a completion pushed
// token by token through the harmony parser prints as marked sections in a
// pipe, and with dimmed reasoning (and no markers) on a terminal.
#include "cli/transcript.h"

#include <gtest/gtest.h>

#include <sstream>

#include "base/result.h"
#include "tokenizer/tokenizer.h"

namespace quarry::cli {
namespace {

const tokenizer::Tokenizer& tok() {
  static const Result<tokenizer::Tokenizer> t = tokenizer::Tokenizer::load(QUARRY_RANKS_FILE);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.message());
  return t.value();
}

// Streams `completion` (harmony text, specials recognised) one token at a time.
std::string transcript(const std::string& completion, bool terminal, size_t max_tokens = SIZE_MAX) {
  std::ostringstream out;
  TranscriptPrinter printer(out, terminal);
  harmony::StreamParser parser(tok(), harmony::ParseMode::kLenient);
  std::vector<harmony::ParseEvent> events;
  const auto ids = tok().encode(completion, tokenizer::Specials::kAll);
  for (size_t i = 0; i < ids.size() && i < max_tokens; ++i) {
    events.clear();
    parser.push(ids[i], events);
    printer.print(events);
  }
  events.clear();
  parser.finish(events);
  printer.print(events);
  printer.finish();
  return out.str();
}

constexpr const char* kAnswer =
    "<|channel|>analysis<|message|>User asks 2+2. Easy.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>";

TEST(Transcript, PipeGetsMarkersAndNoEscapes) {
  EXPECT_EQ(transcript(kAnswer, false), "[analysis]\nUser asks 2+2. Easy.\n[final]\n2 + 2 = 4.\n");
}

TEST(Transcript, TerminalDimsTheReasoningOnly) {
  const std::string t = transcript(kAnswer, true);
  EXPECT_EQ(t.find("[analysis]"), std::string::npos);
  EXPECT_EQ(t.find("[final]"), std::string::npos);
  // Every dimmed piece is reset right away; the final answer is plain.
  std::string plain;
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, 4, "\x1b[2m") == 0) {
      const size_t end = t.find("\x1b[0m", i);
      ASSERT_NE(end, std::string::npos);
      const std::string dim = t.substr(i + 4, end - i - 4);
      EXPECT_NE(std::string("User asks 2+2. Easy.").find(dim), std::string::npos) << dim;
      i = end + 4;
    } else {
      plain += t[i++];
    }
  }
  EXPECT_EQ(plain, "\n\n2 + 2 = 4.\n");
}

TEST(Transcript, ToolCallsAreOneLine) {
  const std::string t = transcript(
      "<|channel|>analysis<|message|>Need the weather.<|end|>"
      "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
      "<|message|>{\"city\":\"Lyon\"}<|call|>",
      false);
  EXPECT_EQ(t, "[analysis]\nNeed the weather.\n[tool call] get_weather({\"city\":\"Lyon\"})\n");
}

TEST(Transcript, CutOffAnswerEndsTheLine) {
  // Stopped by --max-tokens in the middle of the final answer.
  const std::string t = transcript(kAnswer, false, 20);
  EXPECT_EQ(t.rfind("[analysis]\n", 0), 0u) << t;
  EXPECT_NE(t.find("[final]\n"), std::string::npos) << t;
  EXPECT_EQ(t.back(), '\n');
}

TEST(Transcript, PreamblesAreCommentary) {
  const std::string t = transcript(
      "<|channel|>commentary<|message|>Let me check.<|end|>"
      "<|start|>assistant<|channel|>final<|message|>Done.<|return|>",
      false);
  EXPECT_EQ(t, "[commentary]\nLet me check.\n[final]\nDone.\n");
}

}  // namespace
}  // namespace quarry::cli
