// Event-stream encoder and decoder (§5). Big-endian integers throughout;
// every length read from the wire is checked against what is actually there
// before it is used, since the decoder's input is untrusted.
#include "aws/event_stream.h"

#include <cstring>
#include <set>
#include <type_traits>

#include "base/utf8.h"

namespace quarry::aws {

namespace {

// Table for the reflected polynomial 0xEDB88320, built at compile time.
constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

uint64_t get_be(std::string_view s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(s[pos + i]);
  return v;
}

void encode_header(std::string& out, const EventHeader& h) {
  out += static_cast<char>(h.name.size());
  out += h.name;
  out += static_cast<char>(header_type(h.value));
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          // The type byte carries the value.
        } else if constexpr (std::is_integral_v<T>) {
          // Two's complement, big-endian.
          put_be(out, static_cast<uint64_t>(static_cast<int64_t>(v)), sizeof(T));
        } else if constexpr (std::is_same_v<T, EventBytes>) {
          put_be(out, v.data.size(), 2);
          out += v.data;
        } else if constexpr (std::is_same_v<T, std::string>) {
          put_be(out, v.size(), 2);
          out += v;
        } else if constexpr (std::is_same_v<T, EventTimestamp>) {
          put_be(out, static_cast<uint64_t>(v.millis), 8);
        } else {
          out.append(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size());
        }
      },
      h.value);
}

std::string encode_headers(const std::vector<EventHeader>& headers) {
  std::string hs;
  for (const auto& h : headers) encode_header(hs, h);
  return hs;
}

// Frames an encoded headers section and a payload.
std::string frame(std::string_view hs, std::string_view payload) {
  std::string out;
  out.reserve(kEventMinMessageBytes + hs.size() + payload.size());
  put_be(out, kEventMinMessageBytes + hs.size() + payload.size(), 4);
  put_be(out, hs.size(), 4);
  put_be(out, crc32(out), 4);
  out += hs;
  out += payload;
  put_be(out, crc32(out), 4);
  return out;
}

std::string frame(const std::vector<EventHeader>& headers, std::string_view payload) {
  return frame(encode_headers(headers), payload);
}

// `s` as valid UTF-8 of at most kEventMaxValueBytes, never splitting a
// sequence, so the frame always decodes (ours and the SDK's decoder alike).
std::string clip(std::string_view s) {
  std::string v = utf8::is_valid(s) ? std::string(s) : utf8::to_valid_lossy(s);
  if (v.size() > kEventMaxValueBytes) {
    v.resize(utf8::complete_prefix_len(std::string_view(v).substr(0, kEventMaxValueBytes)));
  }
  return v;
}

EventHeader string_header(std::string name, std::string_view value) {
  return EventHeader{std::move(name), clip(value)};
}

// Parses the headers section of one message.
Result<std::vector<EventHeader>> decode_headers(std::string_view s) {
  std::vector<EventHeader> out;
  std::set<std::string, std::less<>> seen;
  size_t pos = 0;
  auto need = [&](size_t n) { return s.size() - pos >= n; };
  while (pos < s.size()) {
    const size_t name_len = static_cast<unsigned char>(s[pos++]);
    if (name_len == 0) return make_error("event-stream header with an empty name");
    if (!need(name_len + 1)) return make_error("event-stream header runs past its section");
    std::string name(s.substr(pos, name_len));
    pos += name_len;
    if (!utf8::is_valid(name)) return make_error("event-stream header name is not UTF-8");
    if (!seen.insert(name).second) {
      return make_error("event-stream header '" + name + "' appears twice");
    }
    const auto type = static_cast<unsigned char>(s[pos++]);
    static constexpr size_t kFixed[] = {0, 0, 1, 2, 4, 8, 0, 0, 8, 16};
    if (type > 9) {
      return make_error("event-stream header '" + name + "' has unknown type " +
                        std::to_string(type));
    }
    size_t len = kFixed[type];
    if (type == 6 || type == 7) {
      if (!need(2)) return make_error("event-stream header '" + name + "' is truncated");
      len = get_be(s, pos, 2);
      pos += 2;
    }
    if (!need(len)) return make_error("event-stream header '" + name + "' is truncated");
    const std::string_view raw = s.substr(pos, len);
    pos += len;
    EventHeaderValue value;
    switch (static_cast<EventHeaderType>(type)) {
      case EventHeaderType::kTrue:
        value = true;
        break;
      case EventHeaderType::kFalse:
        value = false;
        break;
      case EventHeaderType::kByte:
        value = static_cast<int8_t>(get_be(raw, 0, 1));
        break;
      case EventHeaderType::kShort:
        value = static_cast<int16_t>(get_be(raw, 0, 2));
        break;
      case EventHeaderType::kInt:
        value = static_cast<int32_t>(get_be(raw, 0, 4));
        break;
      case EventHeaderType::kLong:
        value = static_cast<int64_t>(get_be(raw, 0, 8));
        break;
      case EventHeaderType::kBytes:
        value = EventBytes{std::string(raw)};
        break;
      case EventHeaderType::kString:
        if (!utf8::is_valid(raw)) {
          return make_error("event-stream header '" + name + "' is not UTF-8");
        }
        value = std::string(raw);
        break;
      case EventHeaderType::kTimestamp:
        value = EventTimestamp{static_cast<int64_t>(get_be(raw, 0, 8))};
        break;
      case EventHeaderType::kUuid: {
        EventUuid u;
        std::memcpy(u.bytes.data(), raw.data(), u.bytes.size());
        value = u;
        break;
      }
    }
    out.push_back(EventHeader{std::move(name), std::move(value)});
  }
  return out;
}

// Checks the 12-byte prelude at the start of `s`; returns the total length.
Result<size_t> check_prelude(std::string_view s) {
  const size_t total = get_be(s, 0, 4);
  const size_t headers = get_be(s, 4, 4);
  const uint32_t crc = static_cast<uint32_t>(get_be(s, 8, 4));
  if (crc32(s.substr(0, 8)) != crc) return make_error("event-stream prelude CRC mismatch");
  if (total < kEventMinMessageBytes) {
    return make_error("event-stream message length " + std::to_string(total) +
                      " is below the 16-byte minimum");
  }
  if (headers > total - kEventMinMessageBytes) {
    return make_error("event-stream headers length exceeds the message length");
  }
  if (headers > kEventMaxHeadersBytes) return make_error("event-stream headers exceed 128 KiB");
  if (total - kEventMinMessageBytes - headers > kEventMaxPayloadBytes) {
    return make_error("event-stream payload exceeds 24 MiB");
  }
  return total;
}

// Decodes a message whose prelude has been checked and whose bytes are all
// in `s` (exactly the message).
Result<EventMessage> decode_checked(std::string_view s) {
  const uint32_t crc = static_cast<uint32_t>(get_be(s, s.size() - 4, 4));
  if (crc32(s.substr(0, s.size() - 4)) != crc) {
    return make_error("event-stream message CRC mismatch");
  }
  const size_t headers_len = get_be(s, 4, 4);
  EventMessage m;
  QUARRY_ASSIGN(m.headers, decode_headers(s.substr(kEventPreludeBytes, headers_len)));
  m.payload = std::string(
      s.substr(kEventPreludeBytes + headers_len, s.size() - kEventMinMessageBytes - headers_len));
  return m;
}

}  // namespace

uint32_t crc32(std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (unsigned char c : data) crc = kCrcTable[(crc ^ c) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

EventHeaderType header_type(const EventHeaderValue& v) {
  // Variant index i is wire type i + 1, except bool which is 0 or 1 by value.
  if (const bool* b = std::get_if<bool>(&v)) {
    return *b ? EventHeaderType::kTrue : EventHeaderType::kFalse;
  }
  return static_cast<EventHeaderType>(v.index() + 1);
}

std::optional<std::string_view> EventMessage::string_header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name != name) continue;
    if (const auto* s = std::get_if<std::string>(&h.value)) return std::string_view(*s);
    return std::nullopt;
  }
  return std::nullopt;
}

Result<std::string> encode_message(const EventMessage& message) {
  std::set<std::string_view> seen;
  for (const auto& h : message.headers) {
    if (h.name.empty() || h.name.size() > 255) {
      return make_error("event-stream header names must be 1 to 255 bytes");
    }
    if (!utf8::is_valid(h.name)) return make_error("event-stream header name is not UTF-8");
    if (!seen.insert(h.name).second) {
      return make_error("event-stream header '" + h.name + "' appears twice");
    }
    size_t value_bytes = 0;
    if (const auto* s = std::get_if<std::string>(&h.value)) {
      if (!utf8::is_valid(*s)) {
        return make_error("event-stream header '" + h.name + "' is not UTF-8");
      }
      value_bytes = s->size();
    } else if (const auto* b = std::get_if<EventBytes>(&h.value)) {
      value_bytes = b->data.size();
    }
    if (value_bytes > kEventMaxValueBytes) {
      return make_error("event-stream header '" + h.name + "' value exceeds 32767 bytes");
    }
  }
  const std::string hs = encode_headers(message.headers);
  if (hs.size() > kEventMaxHeadersBytes) return make_error("event-stream headers exceed 128 KiB");
  if (message.payload.size() > kEventMaxPayloadBytes) {
    return make_error("event-stream payload exceeds 24 MiB");
  }
  return frame(hs, message.payload);
}

std::string event_message(std::string_view event_type, std::string_view payload,
                          std::string_view content_type) {
  return frame(
      {string_header(":event-type", event_type), string_header(":content-type", content_type),
       string_header(":message-type", "event")},
      payload);
}

std::string exception_message(std::string_view exception_type, std::string_view payload_json) {
  return frame({string_header(":exception-type", exception_type),
                string_header(":content-type", "application/json"),
                string_header(":message-type", "exception")},
               payload_json);
}

std::string error_message(std::string_view code, std::string_view message) {
  return frame({string_header(":message-type", "error"), string_header(":error-code", code),
                string_header(":error-message", message)},
               {});
}

Result<EventMessage> decode_message(std::string_view bytes) {
  if (bytes.size() < kEventPreludeBytes) return make_error("event-stream message is truncated");
  size_t total = 0;
  QUARRY_ASSIGN(total, check_prelude(bytes));
  if (total != bytes.size()) {
    return make_error("event-stream message length " + std::to_string(total) + " but " +
                      std::to_string(bytes.size()) + " bytes given");
  }
  return decode_checked(bytes);
}

Status EventStreamDecoder::feed(std::string_view bytes) {
  if (!error_.empty()) return make_error(error_);
  buf_.append(bytes);
  while (buf_.size() - pos_ >= kEventPreludeBytes) {
    const std::string_view rest = std::string_view(buf_).substr(pos_);
    // The prelude is checked as soon as it is here, so a corrupt length is
    // reported at once instead of making us wait for (and buffer) up to 4 GiB.
    auto total = check_prelude(rest);
    if (!total) {
      error_ = total.message();
      return total.error();
    }
    if (rest.size() < *total) break;
    auto m = decode_checked(rest.substr(0, *total));
    if (!m) {
      error_ = m.message();
      return m.error();
    }
    ready_.push_back(std::move(*m));
    pos_ += *total;
  }
  // Drop consumed bytes once they dominate the buffer.
  if (pos_ > 0 && pos_ * 2 >= buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return Status::Ok();
}

std::optional<EventMessage> EventStreamDecoder::next() {
  if (ready_.empty()) return std::nullopt;
  EventMessage m = std::move(ready_.front());
  ready_.pop_front();
  return m;
}

Status EventStreamDecoder::finish() const {
  if (!error_.empty()) return make_error(error_);
  if (pending_bytes() > 0) {
    return make_error("event-stream ended inside a message (" + std::to_string(pending_bytes()) +
                      " bytes left over)");
  }
  return Status::Ok();
}

Result<std::vector<EventMessage>> decode_stream(std::string_view bytes) {
  EventStreamDecoder d;
  if (Status s = d.feed(bytes); !s) return make_error(s.message());
  if (Status s = d.finish(); !s) return make_error(s.message());
  std::vector<EventMessage> out;
  while (auto m = d.next()) out.push_back(std::move(*m));
  return out;
}

}  // namespace quarry::aws
