// Renders a chat request as a harmony prompt: token ids built directly
// (structure tokens as special ids, every piece of text with ordinary
// encoding, so text that looks like `<|end|>` stays text).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "harmony/chat_request.h"
#include "harmony/prompt_messages.h"
#include "tokenizer/tokenizer.h"

namespace quarry::harmony {

using tokenizer::TokenId;

struct RenderOptions {
  // "Current date:" of the system message; absent = today's UTC date
  // (YYYY-MM-DD); "" omits the line (the library's behaviour without a date).
  std::optional<std::string> current_date;
  // Appends `<|start|>assistant` so the model writes the next turn.
  bool add_generation_prompt = true;
};

// Today's UTC date as YYYY-MM-DD.
std::string today_utc();

// The ids of the whole prompt.
Result<std::vector<TokenId>> render_prompt(const tokenizer::Tokenizer& tok,
                                           const ChatRequest& request,
                                           const RenderOptions& options = {});

// Appends the ids of harmony messages (and nothing else) to `out`.
void render_messages_into(const tokenizer::Tokenizer& tok, std::span<const PromptMessage> messages,
                          std::vector<TokenId>& out);

// The prompt as text: the ids decoded, specials written as their literal
// text (`<|start|>` ...). Equals the golden `expected_prompt`.
Result<std::string> prompt_text(const tokenizer::Tokenizer& tok, std::span<const TokenId> ids);

// The same text without a tokenizer, straight from the messages (for logs,
// debugging and tests).
std::string messages_text(std::span<const PromptMessage> messages,
                          bool add_generation_prompt = true);

}  // namespace quarry::harmony
