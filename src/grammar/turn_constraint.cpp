#include "grammar/turn_constraint.h"

#include <cmath>

namespace quarry::grammar {
namespace {

bool plain_string_bytes(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      lo = c == 0xE0 ? 0xA0 : 0x80;
      hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto d = static_cast<uint8_t>(s[i + k]);
      if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return false;
    }
    i += len;
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// Forcing starts when the tokens left are at most the shortest completion
// plus this margin: one token chosen freely before that can lengthen the
// completion by a few tokens (a nested value opened), rarely more.
constexpr size_t kMargin = 8;

}  // namespace

Result<std::shared_ptr<const VocabIndex>> VocabIndex::build(const tokenizer::Tokenizer& tok) {
  auto v = std::make_shared<VocabIndex>();
  v->tok_ = &tok;
  const size_t n = tok.vocab_size();
  v->bytes_.resize(n);
  v->flags_.assign(n, 0);
  std::vector<size_t> count(257, 0);
  for (size_t id = 0; id < n; ++id) {
    const auto tid = static_cast<tokenizer::TokenId>(id);
    if (tok.is_special(tid) || tok.token_bytes(tid).empty()) {
      v->flags_[id] = kSpecial;
      continue;
    }
    v->bytes_[id] = tok.token_bytes(tid);
    if (plain_string_bytes(v->bytes_[id])) v->flags_[id] |= kPlainString;
    ++count[static_cast<uint8_t>(v->bytes_[id][0]) + 1];
  }
  v->first_off_.assign(257, 0);
  for (size_t b = 1; b <= 256; ++b) v->first_off_[b] = v->first_off_[b - 1] + count[b];
  v->by_first_.resize(v->first_off_[256]);
  std::vector<size_t> fill(v->first_off_.begin(), v->first_off_.end() - 1);
  for (size_t id = 0; id < n; ++id) {
    if (v->flags_[id] & kSpecial) continue;
    v->by_first_[fill[static_cast<uint8_t>(v->bytes_[id][0])]++] = static_cast<int32_t>(id);
  }
  struct Named {
    int32_t* id;
    const char* text;
  };
  for (auto [id, text] :
       {Named{&v->start, "<|start|>"}, Named{&v->end, "<|end|>"}, Named{&v->message, "<|message|>"},
        Named{&v->channel, "<|channel|>"}, Named{&v->constrain, "<|constrain|>"},
        Named{&v->call, "<|call|>"}, Named{&v->ret, "<|return|>"}}) {
    auto sid = tok.special_id(text);
    if (!sid) return make_error(std::string("the tokenizer has no ") + text + " token");
    *id = static_cast<int32_t>(*sid);
  }
  return std::shared_ptr<const VocabIndex>(std::move(v));
}

std::vector<int32_t> VocabIndex::encode(std::string_view bytes) const {
  std::vector<int32_t> out;
  for (tokenizer::TokenId id : tok_->encode_ordinary(bytes))
    out.push_back(static_cast<int32_t>(id));
  return out;
}

TurnConstraint::TurnConstraint(std::shared_ptr<const VocabIndex> vocab,
                               std::shared_ptr<const TurnSpec> spec, size_t max_tokens)
    : vocab_(std::move(vocab)), spec_(std::move(spec)), max_tokens_(max_tokens) {
  plan_ = {Step{Step::kSpecial, vocab_->channel, {}, nullptr}, Step{Step::kHeader, 0, {}, nullptr}};
  enter(0);
}

std::vector<TurnConstraint::Candidate> TurnConstraint::candidates(bool analysis) const {
  std::vector<Candidate> out;
  if (analysis && spec_->allow_analysis) out.push_back({"analysis", -2});
  if (spec_->final != TurnSpec::Final::kNone) out.push_back({"final", -1});
  for (size_t i = 0; i < spec_->tools.size(); ++i) {
    out.push_back({"commentary to=functions." + spec_->tools[i].name + " ", static_cast<int>(i)});
  }
  return out;
}

std::vector<TurnConstraint::Step> TurnConstraint::branch(int kind) const {
  const VocabIndex& v = *vocab_;
  if (kind == -2) {
    return {
        Step{Step::kSpecial, v.message, {}, nullptr}, Step{Step::kText, v.end, {}, nullptr},
        Step{Step::kSpecial, v.start, {}, nullptr},   Step{Step::kLiteral, 0, "assistant", nullptr},
        Step{Step::kSpecial, v.channel, {}, nullptr}, Step{Step::kHeader, 0, {}, nullptr}};
  }
  if (kind == -1) {
    if (spec_->final == TurnSpec::Final::kJson) {
      return {Step{Step::kSpecial, v.message, {}, nullptr},
              Step{Step::kJson, v.ret, {}, spec_->final_schema.get()}};
    }
    return {Step{Step::kSpecial, v.message, {}, nullptr}, Step{Step::kText, v.ret, {}, nullptr}};
  }
  const ToolSpec& tool = spec_->tools[static_cast<size_t>(kind)];
  return {Step{Step::kSpecial, v.constrain, {}, nullptr}, Step{Step::kLiteral, 0, "json", nullptr},
          Step{Step::kSpecial, v.message, {}, nullptr},
          Step{Step::kJson, v.call, {}, tool.schema.get()}};
}

void TurnConstraint::enter(size_t at) {
  at_ = at;
  if (done()) return;
  const Step& s = plan_[at_];
  if (s.kind == Step::kHeader) header_.clear();
  if (s.kind == Step::kLiteral) literal_pos_ = 0;
  if (s.kind == Step::kJson) json_ = JsonMatcher(s.schema->root());
}

bool TurnConstraint::accept(int32_t id) {
  if (done()) return true;
  const VocabIndex& v = *vocab_;
  const bool special = (v.flags(id) & VocabIndex::kSpecial) != 0;
  const std::string_view bytes = v.bytes(id);
  const Step& s = plan_[at_];
  switch (s.kind) {
    case Step::kSpecial:
      if (id != s.id) return false;
      enter(at_ + 1);
      return true;
    case Step::kLiteral:
      if (special || !starts_with(std::string_view(s.text).substr(literal_pos_), bytes)) {
        return false;
      }
      literal_pos_ += bytes.size();
      if (literal_pos_ == s.text.size()) enter(at_ + 1);
      return true;
    case Step::kHeader: {
      if (special) return false;
      const std::string h = header_ + std::string(bytes);
      for (const Candidate& c : candidates(!analysis_used_)) {
        if (c.header == h) {
          if (c.kind == -2) analysis_used_ = true;
          plan_ = branch(c.kind);
          enter(0);
          return true;
        }
      }
      for (const Candidate& c : candidates(!analysis_used_)) {
        if (starts_with(c.header, h)) {
          header_ = h;
          return true;
        }
      }
      return false;
    }
    case Step::kText:
      if (special && id != s.id) return false;
      if (id == s.id) enter(at_ + 1);
      return true;
    case Step::kJson:
      if (special) {
        if (id != s.id || !json_.complete()) return false;
        enter(at_ + 1);
        return true;
      }
      return json_.feed(bytes);
  }
  return false;
}

void TurnConstraint::allowed(std::vector<uint8_t>& mask) {
  const VocabIndex& v = *vocab_;
  mask.assign(v.size(), 0);
  if (done()) {
    mask.assign(v.size(), 1);
    return;
  }
  const Step& s = plan_[at_];
  switch (s.kind) {
    case Step::kSpecial:
      mask[static_cast<size_t>(s.id)] = 1;
      return;
    case Step::kLiteral: {
      const std::string_view rest = std::string_view(s.text).substr(literal_pos_);
      for (int32_t id : v.starting_with(static_cast<uint8_t>(rest[0]))) {
        if (starts_with(rest, v.bytes(id))) mask[static_cast<size_t>(id)] = 1;
      }
      return;
    }
    case Step::kHeader: {
      bool first_seen[256] = {};
      std::vector<std::string> keep;  // what is left of each candidate
      for (const Candidate& c : candidates(!analysis_used_)) {
        if (starts_with(c.header, header_) && c.header.size() > header_.size()) {
          keep.push_back(c.header.substr(header_.size()));
        }
      }
      for (const std::string& rest : keep) {
        const auto b = static_cast<uint8_t>(rest[0]);
        if (first_seen[b]) continue;
        first_seen[b] = true;
        for (int32_t id : v.starting_with(b)) {
          for (const std::string& r : keep) {
            if (starts_with(r, v.bytes(id))) {
              mask[static_cast<size_t>(id)] = 1;
              break;
            }
          }
        }
      }
      return;
    }
    case Step::kText:
      for (size_t id = 0; id < v.size(); ++id) {
        mask[id] = (v.flags(static_cast<int32_t>(id)) & VocabIndex::kSpecial) == 0;
      }
      mask[static_cast<size_t>(s.id)] = 1;
      return;
    case Step::kJson: {
      if (json_.complete()) mask[static_cast<size_t>(s.id)] = 1;
      const bool free_string = json_.in_free_string();
      for (int b = 0; b < 256; ++b) {
        const char byte = static_cast<char>(b);
        scratch_.assign(json_);
        if (!scratch_.try_feed(std::string_view(&byte, 1))) continue;
        for (int32_t id : v.starting_with(static_cast<uint8_t>(b))) {
          if (free_string && (v.flags(id) & VocabIndex::kPlainString)) {
            mask[static_cast<size_t>(id)] = 1;
            continue;
          }
          scratch_.assign(json_);
          if (scratch_.try_feed(v.bytes(id))) mask[static_cast<size_t>(id)] = 1;
        }
      }
      return;
    }
  }
}

void TurnConstraint::append_text(std::string_view bytes, std::vector<int32_t>& out) const {
  if (bytes.empty()) return;
  std::vector<int32_t> ids = vocab_->encode(bytes);
  out.insert(out.end(), ids.begin(), ids.end());
}

void TurnConstraint::append_best_branch(const std::string& done, bool analysis,
                                        std::vector<int32_t>& out) const {
  std::vector<int32_t> best;
  bool found = false;
  for (const Candidate& c : candidates(analysis)) {
    if (!starts_with(c.header, done)) continue;
    std::vector<int32_t> t;
    append_text(std::string_view(c.header).substr(done.size()), t);
    const std::vector<Step> steps = branch(c.kind);
    append_steps(steps, 0, t);
    if (!found || t.size() < best.size()) {
      best = std::move(t);
      found = true;
    }
  }
  out.insert(out.end(), best.begin(), best.end());
}

void TurnConstraint::append_steps(const std::vector<Step>& steps, size_t from,
                                  std::vector<int32_t>& out) const {
  for (size_t i = from; i < steps.size(); ++i) {
    const Step& s = steps[i];
    switch (s.kind) {
      case Step::kSpecial:
      case Step::kText:
        out.push_back(s.id);
        break;
      case Step::kLiteral:
        append_text(s.text, out);
        break;
      case Step::kJson:
        append_text(shortest_value(s.schema->root()), out);
        out.push_back(s.id);
        break;
      case Step::kHeader:
        append_best_branch("", false, out);  // a header after the analysis
        break;
    }
  }
}

std::vector<int32_t> TurnConstraint::shortest_completion() const {
  std::vector<int32_t> out;
  if (done()) return out;
  const Step& s = plan_[at_];
  switch (s.kind) {
    case Step::kSpecial:
    case Step::kText:
      append_steps(plan_, at_, out);
      break;
    case Step::kLiteral:
      append_text(std::string_view(s.text).substr(literal_pos_), out);
      append_steps(plan_, at_ + 1, out);
      break;
    case Step::kHeader:
      append_best_branch(header_, !analysis_used_, out);
      break;
    case Step::kJson:
      append_text(json_.shortest_completion(), out);
      out.push_back(s.id);
      append_steps(plan_, at_ + 1, out);
      break;
  }
  return out;
}

void TurnConstraint::operator()(std::span<const int32_t> generated, std::span<float> logits) {
  for (size_t i = consumed_; i < generated.size(); ++i) {
    if (!failed_ && !accept(generated[i])) failed_ = true;
  }
  consumed_ = generated.size();
  if (failed_ || done()) return;
  const size_t left = max_tokens_ > generated.size() ? max_tokens_ - generated.size() : 0;
  const std::vector<int32_t> finish = shortest_completion();
  if (!finish.empty() && left <= finish.size() + kMargin) {
    for (size_t id = 0; id < logits.size(); ++id) {
      if (static_cast<int32_t>(id) != finish[0]) logits[id] = -INFINITY;
    }
    logits[static_cast<size_t>(finish[0])] = 0.0f;
    return;
  }
  allowed(mask_);
  bool any = false;
  for (size_t id = 0; id < logits.size(); ++id) {
    if (id < mask_.size() && mask_[id]) {
      any = true;
    } else {
      logits[id] = -INFINITY;
    }
  }
  if (!any && !finish.empty()) logits[static_cast<size_t>(finish[0])] = 0.0f;
}

}  // namespace quarry::grammar
