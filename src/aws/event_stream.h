// AWS event-stream framing (`application/vnd.amazon.eventstream`, spec §5):
// the binary messages ConverseStream, InvokeModelWithResponseStream and
// InvokeEndpointWithResponseStream send. The encoder writes byte-identical
// frames to the AWS SDK's own codec (same header order); the incremental
// decoder is for tests and tools that read such streams back, and treats its
// input as untrusted.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace quarry::aws {

// CRC-32 as zlib's crc32(): IEEE 802.3 polynomial, reflected, init and final
// xor 0xFFFFFFFF. Chainable: crc32(b, crc32(a)) == crc32(a + b).
uint32_t crc32(std::string_view data, uint32_t crc = 0);

// Limits from the Smithy event-stream specification.
inline constexpr size_t kEventPreludeBytes = 12;  // total, headers length, prelude CRC
inline constexpr size_t kEventMinMessageBytes = 16;
inline constexpr size_t kEventMaxHeadersBytes = 128 * 1024;
inline constexpr size_t kEventMaxPayloadBytes = 24 * 1024 * 1024;
inline constexpr size_t kEventMaxValueBytes = 32767;  // string and byte-array values

// Header value types (§5.2); the wire type byte is the enumerator's value.
enum class EventHeaderType : uint8_t {
  kTrue = 0,
  kFalse = 1,
  kByte = 2,
  kShort = 3,
  kInt = 4,
  kLong = 5,
  kBytes = 6,
  kString = 7,
  kTimestamp = 8,
  kUuid = 9,
};

// Byte-array values, kept apart from strings (which must be UTF-8).
struct EventBytes {
  std::string data;
  bool operator==(const EventBytes&) const = default;
};
// Milliseconds since the Unix epoch.
struct EventTimestamp {
  int64_t millis = 0;
  bool operator==(const EventTimestamp&) const = default;
};
struct EventUuid {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const EventUuid&) const = default;
};

// bool covers both type 0 (true) and type 1 (false).
using EventHeaderValue = std::variant<bool, int8_t, int16_t, int32_t, int64_t, EventBytes,
                                      std::string, EventTimestamp, EventUuid>;

EventHeaderType header_type(const EventHeaderValue& v);

struct EventHeader {
  std::string name;
  EventHeaderValue value;
  bool operator==(const EventHeader&) const = default;
};

struct EventMessage {
  std::vector<EventHeader> headers;  // in wire order
  std::string payload;               // raw bytes

  // The value of string header `name`; nullopt when absent or not a string.
  std::optional<std::string_view> string_header(std::string_view name) const;
  bool operator==(const EventMessage&) const = default;
};

// Encodes one message. Fails on an empty, over-long (> 255 bytes) or repeated
// header name, a string or byte-array value over 32767 bytes, a string that
// is not UTF-8, or headers / payload over the Smithy limits.
Result<std::string> encode_message(const EventMessage& message);

// The three kinds of message the server sends (§5.2), with headers in the
// SDK's order. Names are the caller's constants; a too-long text value is cut
// at a UTF-8 boundary rather than failing, since these run mid-stream where
// nothing better can be sent. `payload` must stay under 24 MiB.
//   :event-type, :content-type, :message-type=event
std::string event_message(std::string_view event_type, std::string_view payload,
                          std::string_view content_type = "application/json");
//   :exception-type, :content-type=application/json, :message-type=exception
std::string exception_message(std::string_view exception_type, std::string_view payload_json);
//   :message-type=error, :error-code, :error-message; no payload
std::string error_message(std::string_view code, std::string_view message);

// Decodes exactly one complete message (all of `frame`, no more, no less).
Result<EventMessage> decode_message(std::string_view frame);

// Incremental decoder: feed the body in whatever chunks it arrives in (a
// message may span chunks, a chunk may hold several messages) and pop the
// complete messages. The first framing error is final, because a stream that
// lost its framing cannot be resynchronised.
class EventStreamDecoder {
 public:
  // Appends `bytes` and decodes every message they complete.
  Status feed(std::string_view bytes);
  // The next decoded message, oldest first.
  std::optional<EventMessage> next();
  // Bytes of a partial message still waiting for the rest.
  size_t pending_bytes() const { return buf_.size() - pos_; }
  // End of stream: an error when a partial message is left over.
  Status finish() const;
  bool failed() const { return !error_.empty(); }

 private:
  std::string buf_;
  size_t pos_ = 0;  // start of the first undecoded byte in buf_
  std::deque<EventMessage> ready_;
  std::string error_;
};

// A whole stream body at once (every message, no trailing partial message).
Result<std::vector<EventMessage>> decode_stream(std::string_view bytes);

}  // namespace quarry::aws
