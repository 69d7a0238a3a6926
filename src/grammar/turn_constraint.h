// Constrained decoding of one harmony assistant turn (shared/spec/apis.md
// §2.4.2): a token mask that lets the model reason freely in the analysis
// channel, then forces what the request demands — a call of an allowed
// function with arguments its schema accepts, and/or a final answer that is
// JSON of a schema — and, as the token budget runs out, forces the shortest
// way to finish the turn, so a constrained turn ends well-formed whenever
// max_tokens leaves room for it.
//
// The turn (after the prompt's `<|start|>assistant`):
//   [<|channel|>analysis<|message|>TEXT<|end|><|start|>assistant]
//   <|channel|>commentary to=functions.NAME <|constrain|>json<|message|>JSON<|call|>
//   | <|channel|>final<|message|>(JSON | TEXT)<|return|>
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "grammar/json_matcher.h"
#include "grammar/json_schema.h"
#include "tokenizer/tokenizer.h"

namespace quarry::grammar {

// What the constraint needs of a vocabulary, computed once per tokenizer.
class VocabIndex {
 public:
  static Result<std::shared_ptr<const VocabIndex>> build(const tokenizer::Tokenizer& tok);

  enum Flag : uint8_t {
    kSpecial = 1,      // a control token: never part of text
    kPlainString = 2,  // whole UTF-8 characters, no `"`, `\` or control characters
  };
  const tokenizer::Tokenizer& tokenizer() const { return *tok_; }
  size_t size() const { return bytes_.size(); }
  std::string_view bytes(int32_t id) const { return bytes_[static_cast<size_t>(id)]; }
  uint8_t flags(int32_t id) const { return flags_[static_cast<size_t>(id)]; }
  // Text tokens whose first byte is `b`.
  std::span<const int32_t> starting_with(uint8_t b) const {
    return {by_first_.data() + first_off_[b], first_off_[b + 1] - first_off_[b]};
  }
  // Token ids for `bytes` (any bytes, valid UTF-8 or not).
  std::vector<int32_t> encode(std::string_view bytes) const;

  int32_t start = 0, end = 0, message = 0, channel = 0, constrain = 0, call = 0, ret = 0;

 private:
  const tokenizer::Tokenizer* tok_ = nullptr;
  std::vector<std::string_view> bytes_;
  std::vector<uint8_t> flags_;
  std::vector<int32_t> by_first_;
  std::vector<size_t> first_off_;  // 257 offsets into by_first_
};

struct ToolSpec {
  std::string name;
  std::shared_ptr<const Schema> schema;  // of the arguments
};

struct TurnSpec {
  bool allow_analysis = true;
  std::vector<ToolSpec> tools;  // calls the turn may make (none: no call)
  enum class Final { kNone, kText, kJson };
  Final final = Final::kNone;
  std::shared_ptr<const Schema> final_schema;  // for kJson
};

class TurnConstraint {
 public:
  // `max_tokens`: the request's budget, to finish the turn within it.
  TurnConstraint(std::shared_ptr<const VocabIndex> vocab, std::shared_ptr<const TurnSpec> spec,
                 size_t max_tokens);

  // The engine's LogitsProcessor: advances over the tokens generated since
  // the last call, then masks `logits` to the tokens allowed next.
  void operator()(std::span<const int32_t> generated, std::span<float> logits);

  // For tests: consume one token (false if it was not allowed), and the
  // allowed set as a mask.
  bool accept(int32_t id);
  void allowed(std::vector<uint8_t>& mask);
  bool done() const { return at_ >= plan_.size(); }
  // Tokens of the shortest way to finish the turn from here.
  std::vector<int32_t> shortest_completion() const;

 private:
  struct Step {
    enum Kind { kSpecial, kLiteral, kHeader, kText, kJson } kind = kSpecial;
    int32_t id = 0;                  // kSpecial: the token; kText, kJson: the special that ends it
    std::string text;                // kLiteral
    const Schema* schema = nullptr;  // kJson
  };
  struct Candidate {
    std::string header;  // "analysis", "final", "commentary to=functions.NAME "
    int kind;            // -2 analysis, -1 final, else the tool's index
  };
  std::vector<Candidate> candidates(bool analysis) const;
  std::vector<Step> branch(int kind) const;
  void enter(size_t at);
  void append_text(std::string_view bytes, std::vector<int32_t>& out) const;
  // Tokens finishing `steps` from step `from` (not in progress), headers by
  // their shortest branch.
  void append_steps(const std::vector<Step>& steps, size_t from, std::vector<int32_t>& out) const;
  void append_best_branch(const std::string& done, bool analysis, std::vector<int32_t>& out) const;

  std::shared_ptr<const VocabIndex> vocab_;
  std::shared_ptr<const TurnSpec> spec_;
  size_t max_tokens_;
  size_t consumed_ = 0;
  bool failed_ = false;  // a token outside the grammar was sampled anyway (logit_bias...)

  std::vector<Step> plan_;
  size_t at_ = 0;           // the current step; plan_.size() when done
  std::string header_;      // kHeader: bytes so far
  size_t literal_pos_ = 0;  // kLiteral
  bool analysis_used_ = false;
  JsonMatcher json_;
  JsonMatcher scratch_;
  std::vector<uint8_t> mask_;
};

}  // namespace quarry::grammar
