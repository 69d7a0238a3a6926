#include "cli/transcript.h"

#include <string>
#include <variant>

namespace quarry::cli {
namespace {

constexpr std::string_view kDim = "\x1b[2m";
constexpr std::string_view kReset = "\x1b[0m";
constexpr std::string_view kFunctionsPrefix = "functions.";

}  // namespace

void TranscriptPrinter::print(std::span<const harmony::ParseEvent> events) {
  for (const auto& ev : events) {
    if (const auto* s = std::get_if<harmony::MessageStartEvent>(&ev)) {
      start_message(s->header);
    } else if (const auto* d = std::get_if<harmony::ContentDeltaEvent>(&ev)) {
      // A tool call's arguments are shown whole when the call is complete.
      if (current_ != Section::kToolCall) write(d->text);
    } else if (const auto* e = std::get_if<harmony::MessageEndEvent>(&ev)) {
      end_message(*e);
    }
    // ToolCallEvent repeats what MessageEndEvent carries (and only for
    // functions.*); StopEvent is reported by the caller with the statistics.
  }
}

void TranscriptPrinter::start_message(const harmony::MessageHeader& h) {
  if (h.recipient.has_value()) {
    current_ = Section::kToolCall;
    return;
  }
  const std::string channel = h.channel.value_or("");
  current_ = channel == "analysis"     ? Section::kAnalysis
             : channel == "commentary" ? Section::kCommentary
                                       : Section::kFinal;
  end_line();
  if (current_ == shown_) return;
  if (terminal_) {
    // Styling tells the sections apart; a blank line separates them.
    if (shown_ != Section::kNone) out_ << '\n';
  } else {
    out_ << (current_ == Section::kAnalysis     ? "[analysis]\n"
             : current_ == Section::kCommentary ? "[commentary]\n"
                                                : "[final]\n");
  }
  shown_ = current_;
}

void TranscriptPrinter::end_message(const harmony::MessageEndEvent& end) {
  const harmony::ParsedMessage& m = end.message;
  if (m.header.recipient.has_value()) {
    std::string_view name = *m.header.recipient;
    if (name.starts_with(kFunctionsPrefix)) name.remove_prefix(kFunctionsPrefix.size());
    end_line();
    if (terminal_ && shown_ != Section::kNone && shown_ != Section::kToolCall) out_ << '\n';
    out_ << "[tool call] " << name << "(" << m.content << ")"
         << (end.truncated() ? " [truncated]" : "") << "\n";
    shown_ = Section::kToolCall;
  }
  end_line();
  current_ = Section::kNone;
}

void TranscriptPrinter::write(std::string_view text) {
  if (text.empty()) return;
  // Each piece carries its own reset, so an interrupted run never leaves the
  // terminal dimmed.
  if (terminal_ && current_ == Section::kAnalysis) {
    out_ << kDim << text << kReset;
  } else {
    out_ << text;
  }
  at_line_start_ = text.back() == '\n';
}

void TranscriptPrinter::end_line() {
  if (!at_line_start_) out_ << '\n';
  at_line_start_ = true;
}

void TranscriptPrinter::finish() {
  end_line();
  out_.flush();
}

}  // namespace quarry::cli
