#include "api/choice_decoder.h"

#include <algorithm>

#include "base/utf8.h"
#include "harmony/openai_mapping.h"

namespace quarry::api {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kFunctions = "functions.";

Json bytes_json(std::string_view bytes) {
  Json a = Json::array();
  for (unsigned char c : bytes) a.push_back(static_cast<int>(c));
  return a;
}

// Where to cut `s` at or before `pos` without splitting a UTF-8 character.
size_t utf8_cut(const std::string& s, size_t pos) {
  while (pos > 0 && pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

ChoiceDelta text_delta(ChoiceDelta::Kind kind, std::string text) {
  ChoiceDelta d;
  d.kind = kind;
  d.text = std::move(text);
  return d;
}

}  // namespace

ChoiceDecoder::ChoiceDecoder(const tokenizer::Tokenizer& tok, std::vector<std::string> stop_strings,
                             int top_logprobs, bool raw)
    : tok_(&tok),
      parser_(tok, harmony::ParseMode::kLenient),
      raw_decoder_(tok),
      stops_(std::move(stop_strings)),
      top_logprobs_(top_logprobs),
      raw_(raw) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
  for (const std::string& s : stops_) max_stop_ = std::max(max_stop_, s.size());
}

Json ChoiceDecoder::logprob_entry(int32_t id, const engine::SampledLogprobs& lp) const {
  auto one = [&](int32_t tid, float logprob) {
    const std::string_view b = tok_->token_bytes(static_cast<tokenizer::TokenId>(tid));
    Json e;
    // A token may hold part of a character: the string is lossy, `bytes` exact.
    e["token"] = utf8::to_valid_lossy(b);
    e["logprob"] = logprob;
    e["bytes"] = bytes_json(b);
    return e;
  };
  Json e = one(id, lp.logprob);
  Json top = Json::array();
  for (size_t i = 0; i < lp.top.size() && static_cast<int>(i) < top_logprobs_; ++i) {
    top.push_back(one(lp.top[i].id, lp.top[i].logprob));
  }
  e["top_logprobs"] = std::move(top);
  return e;
}

bool ChoiceDecoder::push(int32_t id, const engine::SampledLogprobs* lp,
                         std::vector<ChoiceDelta>& out) {
  if (stopped_) return false;
  const auto tid = static_cast<tokenizer::TokenId>(id);
  ended_in_call_ = false;
  if (raw_) {
    if (tok_->is_special(tid)) return true;
    if (lp != nullptr && top_logprobs_ >= 0) pending_logprobs_.push_back(logprob_entry(id, *lp));
    add_content(raw_decoder_.push(tid), out, false);
    return !stopped_;
  }
  if (target_ == Target::kReasoning) ++reasoning_tokens_;
  if (parser_.in_content() && !harmony::is_terminator(tid)) {
    // Control tokens inside a message are never shown (random weights emit
    // them anywhere); the parser would otherwise render their text.
    if (tok_->is_special(tid)) return true;
    if (target_ == Target::kContent && lp != nullptr && top_logprobs_ >= 0) {
      pending_logprobs_.push_back(logprob_entry(id, *lp));
    }
  }
  const bool was_call = target_ == Target::kToolCall;
  std::vector<harmony::ParseEvent> events;
  parser_.push(tid, events);
  on_events(events, out);
  ended_in_call_ = was_call && tid == tokenizer::kCall;
  return !stopped_;
}

void ChoiceDecoder::finish(std::vector<ChoiceDelta>& out) {
  if (stopped_) return;
  if (raw_) {
    add_content(raw_decoder_.flush(), out, true);
    return;
  }
  std::vector<harmony::ParseEvent> events;
  parser_.finish(events);
  on_events(events, out);
  add_content("", out, true);
}

void ChoiceDecoder::on_events(std::vector<harmony::ParseEvent>& events,
                              std::vector<ChoiceDelta>& out) {
  for (harmony::ParseEvent& ev : events) {
    if (stopped_) return;
    if (auto* start = std::get_if<harmony::MessageStartEvent>(&ev)) {
      const harmony::MessageHeader& h = start->header;
      const std::string& to = h.recipient ? *h.recipient : std::string();
      if (h.role != harmony::kRoleAssistant) {
        target_ = Target::kNone;
      } else if (std::string_view(to).starts_with(kFunctions)) {
        target_ = Target::kToolCall;
        calls_.push_back({harmony::random_tool_call_id(), to.substr(kFunctions.size()), ""});
        ChoiceDelta d;
        d.kind = ChoiceDelta::Kind::kToolCallStart;
        d.text = calls_.back().name;
        d.tool_index = calls_.size() - 1;
        d.tool_id = calls_.back().id;
        out.push_back(std::move(d));
      } else if (h.channel && *h.channel == "analysis") {
        target_ = Target::kReasoning;
        if (saw_reasoning_ && !reasoning_.empty()) {
          reasoning_ += "\n";
          out.push_back(text_delta(ChoiceDelta::Kind::kReasoning, "\n"));
        }
        saw_reasoning_ = true;
      } else if (!to.empty()) {
        target_ = Target::kNone;  // a built-in tool call (python, browser.*)
      } else {
        target_ = Target::kContent;
        if (!content_.empty() || !held_.empty()) add_content("\n", out, false);
      }
    } else if (auto* delta = std::get_if<harmony::ContentDeltaEvent>(&ev)) {
      switch (target_) {
        case Target::kReasoning:
          reasoning_ += delta->text;
          out.push_back(text_delta(ChoiceDelta::Kind::kReasoning, std::move(delta->text)));
          break;
        case Target::kContent:
          add_content(std::move(delta->text), out, false);
          break;
        case Target::kToolCall: {
          calls_.back().arguments += delta->text;
          ChoiceDelta d;
          d.kind = ChoiceDelta::Kind::kToolCallArguments;
          d.text = std::move(delta->text);
          d.tool_index = calls_.size() - 1;
          out.push_back(std::move(d));
          break;
        }
        case Target::kNone:
          break;
      }
    } else if (std::holds_alternative<harmony::MessageEndEvent>(ev)) {
      target_ = Target::kNone;
    }
  }
}

void ChoiceDecoder::add_content(std::string text, std::vector<ChoiceDelta>& out, bool final_flush) {
  std::string visible;
  if (stops_.empty()) {
    visible = std::move(text);
  } else {
    held_ += text;
    size_t match = std::string::npos;
    for (const std::string& s : stops_) match = std::min(match, held_.find(s));
    if (match != std::string::npos) {
      visible = held_.substr(0, match);
      held_.clear();
      stopped_ = true;
    } else {
      // Keep back what could still become the start of a stop string.
      const size_t keep = final_flush ? 0 : std::min(held_.size(), max_stop_ - 1);
      const size_t cut = utf8_cut(held_, held_.size() - keep);
      visible = held_.substr(0, cut);
      held_.erase(0, cut);
    }
  }
  if (visible.empty() && pending_logprobs_.empty()) return;
  content_ += visible;
  ChoiceDelta d;
  d.kind = ChoiceDelta::Kind::kContent;
  d.text = std::move(visible);
  if (!pending_logprobs_.empty()) {
    for (Json& e : pending_logprobs_) logprobs_.push_back(e);
    d.logprobs = std::move(pending_logprobs_);
    pending_logprobs_ = Json::array();
  }
  out.push_back(std::move(d));
}

}  // namespace quarry::api
