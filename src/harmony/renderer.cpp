#include "harmony/renderer.h"

#include <ctime>

namespace quarry::harmony {
namespace {

constexpr std::string_view kConstrainText = "<|constrain|>";

// The header of one message, split the way openai/harmony encodes it: each
// text piece is encoded on its own, between the special tokens.
template <class Text, class Special>
void for_each_piece(const PromptMessage& m, Text&& text, Special&& special) {
  special(tokenizer::kStart);
  text(m.author);
  if (!m.recipient.empty()) text(" to=" + m.recipient);
  if (!m.channel.empty()) {
    special(tokenizer::kChannel);
    text(m.channel);
  }
  if (!m.content_type.empty()) {
    std::string_view ct = m.content_type;
    if (ct.starts_with(kConstrainText)) {
      text(" ");
      special(tokenizer::kConstrain);
      if (ct.size() > kConstrainText.size()) text(std::string(ct.substr(kConstrainText.size())));
    } else {
      text(" " + m.content_type);
    }
  }
  special(tokenizer::kMessage);
  text(m.content);
  special(m.ends_with_call() ? tokenizer::kCall : tokenizer::kEnd);
}

const char* special_text(TokenId id) {
  switch (id) {
    case tokenizer::kStart:
      return "<|start|>";
    case tokenizer::kChannel:
      return "<|channel|>";
    case tokenizer::kConstrain:
      return "<|constrain|>";
    case tokenizer::kMessage:
      return "<|message|>";
    case tokenizer::kCall:
      return "<|call|>";
    case tokenizer::kEnd:
      return "<|end|>";
    default:
      return "";
  }
}

}  // namespace

std::string today_utc() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

void render_messages_into(const tokenizer::Tokenizer& tok, std::span<const PromptMessage> messages,
                          std::vector<TokenId>& out) {
  for (const PromptMessage& m : messages) {
    for_each_piece(
        m, [&](const std::string& text) { tok.encode_ordinary_into(text, out); },
        [&](TokenId id) { out.push_back(id); });
  }
}

Result<std::vector<TokenId>> render_prompt(const tokenizer::Tokenizer& tok,
                                           const ChatRequest& request,
                                           const RenderOptions& options) {
  const std::string date = options.current_date ? *options.current_date : today_utc();
  std::vector<PromptMessage> messages = build_prompt_messages(request, date);
  std::vector<TokenId> ids;
  render_messages_into(tok, messages, ids);
  if (options.add_generation_prompt) {
    ids.push_back(tokenizer::kStart);
    tok.encode_ordinary_into("assistant", ids);
  }
  return ids;
}

Result<std::string> prompt_text(const tokenizer::Tokenizer& tok, std::span<const TokenId> ids) {
  return tok.decode_bytes(ids);
}

std::string messages_text(std::span<const PromptMessage> messages, bool add_generation_prompt) {
  std::string out;
  for (const PromptMessage& m : messages) {
    for_each_piece(
        m, [&](const std::string& text) { out += text; },
        [&](TokenId id) { out += special_text(id); });
  }
  if (add_generation_prompt) out += "<|start|>assistant";
  return out;
}

}  // namespace quarry::harmony
