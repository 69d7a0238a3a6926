// Prints the harmony parser's events of a generation as a readable transcript,
// as they arrive. On a terminal the reasoning (channel "analysis") is dimmed
// and the final answer plain; anywhere else (a pipe, a file) there are no
// escape codes and each section starts with a marker line ("[analysis]",
// "[commentary]", "[final]") so the two can still be told apart. Tool calls
// are one line: "[tool call] name(arguments)".
#pragma once

#include <ostream>
#include <span>
#include <string_view>

#include "harmony/stream_parser.h"

namespace quarry::cli {

class TranscriptPrinter {
 public:
  TranscriptPrinter(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

  void print(std::span<const harmony::ParseEvent> events);
  // Ends the last line (call once, after the parser's finish events).
  void finish();

 private:
  enum class Section { kNone, kAnalysis, kCommentary, kFinal, kToolCall };

  void start_message(const harmony::MessageHeader& header);
  void end_message(const harmony::MessageEndEvent& end);
  void write(std::string_view text);
  void end_line();

  std::ostream& out_;
  bool terminal_;
  Section current_ = Section::kNone;  // of the message being streamed
  Section shown_ = Section::kNone;    // last section introduced on the output
  bool at_line_start_ = true;
};

}  // namespace quarry::cli
