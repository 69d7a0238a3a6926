// Fuzzes the AWS event-stream codec (src/aws/event_stream.h). The first byte
// picks how the rest is read:
//   bits 0-1  0: raw stream bytes;
//             1: the same, with both CRCs of every message patched to match
//                (so the lengths and the headers section get exercised);
//             2: built: repeated [u16 headers length][headers][u16 payload
//                length][payload], framed with correct lengths and CRCs;
//             3: encoder input: three NUL-separated strings for
//                event_message / exception_message / error_message.
//   bits 2-7  the chunk size (1..64) the incremental decoder is fed in.
// Checks: never a crash; decode_stream and the chunked EventStreamDecoder
// agree; every message that decodes re-encodes (encode_message) to exactly
// its bytes (the codec keeps headers in wire order, so this holds byte for
// byte), and decode_message of its bytes gives it back; what the server-side
// builders emit always decodes, with the values they were given when those
// are valid UTF-8 within the 32767-byte value limit.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aws/event_stream.h"

using namespace quarry::aws;

namespace {

void put_be32(std::string& s, size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[pos + i] = static_cast<char>((v >> (8 * (3 - i))) & 0xFF);
}

uint32_t get_be32(std::string_view s, size_t pos) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[pos + i]);
  return v;
}

// Mode 1: walk the messages by their declared lengths and make both CRCs right.
std::string patch_crcs(std::string s) {
  size_t pos = 0;
  while (s.size() - pos >= kEventPreludeBytes) {
    put_be32(s, pos + 8, crc32(std::string_view(s).substr(pos, 8)));
    const size_t total = get_be32(s, pos);
    if (total < kEventMinMessageBytes || total > s.size() - pos) break;
    put_be32(s, pos + total - 4, crc32(std::string_view(s).substr(pos, total - 4)));
    pos += total;
  }
  return s;
}

// Mode 2: frames built from length-prefixed sections.
std::string build_frames(std::string_view in) {
  std::string out;
  size_t pos = 0;
  auto take = [&]() {
    if (in.size() - pos < 2) {
      pos = in.size();
      return std::string_view();
    }
    size_t n = (static_cast<unsigned char>(in[pos]) << 8) | static_cast<unsigned char>(in[pos + 1]);
    pos += 2;
    n = std::min(n, in.size() - pos);
    const std::string_view part = in.substr(pos, n);
    pos += n;
    return part;
  };
  while (pos < in.size()) {
    const std::string_view headers = take();
    const std::string_view payload = take();
    std::string m(kEventPreludeBytes, '\0');
    put_be32(m, 0, static_cast<uint32_t>(kEventMinMessageBytes + headers.size() + payload.size()));
    put_be32(m, 4, static_cast<uint32_t>(headers.size()));
    put_be32(m, 8, crc32(std::string_view(m).substr(0, 8)));
    m += headers;
    m += payload;
    m.resize(m.size() + 4);
    put_be32(m, m.size() - 4, crc32(std::string_view(m).substr(0, m.size() - 4)));
    out += m;
  }
  return out;
}

bool value_too_long_to_encode(const EventMessage& m) {
  for (const auto& h : m.headers) {
    if (const auto* s = std::get_if<std::string>(&h.value); s && s->size() > kEventMaxValueBytes) {
      return true;
    }
    if (const auto* b = std::get_if<EventBytes>(&h.value);
        b && b->data.size() > kEventMaxValueBytes) {
      return true;
    }
  }
  return false;
}

void check_decode(std::string_view bytes, size_t chunk) {
  auto whole = decode_stream(bytes);

  // The same bytes in chunks must give the same messages and the same verdict.
  EventStreamDecoder d;
  bool fed_ok = true;
  for (size_t pos = 0; pos < bytes.size() && fed_ok; pos += chunk) {
    fed_ok = static_cast<bool>(d.feed(bytes.substr(pos, chunk)));
    if (!fed_ok && !d.failed()) std::abort();
  }
  const bool chunked_ok = fed_ok && static_cast<bool>(d.finish());
  if (chunked_ok != whole.ok()) std::abort();
  if (!whole.ok()) {
    if (whole.message().empty()) std::abort();
    // A failed decoder stays failed.
    if (!fed_ok && (d.feed("x") || d.finish())) std::abort();
    return;
  }
  std::vector<EventMessage> chunked;
  while (auto m = d.next()) chunked.push_back(std::move(*m));
  if (chunked != *whole) std::abort();
  if (d.pending_bytes() != 0) std::abort();

  // Round trip, message by message, against the exact input bytes.
  size_t pos = 0;
  for (const EventMessage& m : *whole) {
    for (const auto& h : m.headers) {
      const auto s = m.string_header(h.name);
      if (s.has_value() != std::holds_alternative<std::string>(h.value)) std::abort();
    }
    auto encoded = encode_message(m);
    if (!encoded.ok()) {
      // The one asymmetry: the decoder takes string / byte values up to the
      // 16-bit length the wire allows, the encoder only up to Smithy's 32767.
      if (!value_too_long_to_encode(m)) std::abort();
      return;
    }
    if (encoded->size() > bytes.size() - pos || bytes.substr(pos, encoded->size()) != *encoded) {
      std::abort();
    }
    auto again = decode_message(*encoded);
    if (!again.ok() || *again != m) std::abort();
    pos += encoded->size();
  }
  if (pos != bytes.size()) std::abort();
}

// A value the builders keep unchanged: valid UTF-8 of at most 32767 bytes.
bool kept(std::string_view v) {
  if (v.size() > kEventMaxValueBytes) return false;
  EventMessage probe{{{"x", std::string(v)}}, {}};
  return encode_message(probe).ok();  // fails exactly when v is not UTF-8
}

void check_builders(std::string_view in) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  for (int i = 0; i < 2; ++i) {
    const size_t nul = in.find('\0', pos);
    if (nul == std::string_view::npos) break;
    parts.push_back(in.substr(pos, nul - pos));
    pos = nul + 1;
  }
  parts.push_back(in.substr(std::min(pos, in.size())));
  while (parts.size() < 3) parts.emplace_back();
  const std::string_view a = parts[0], b = parts[1], c = parts[2];

  auto expect = [](const std::string& frame, std::string_view name, std::string_view value) {
    auto m = decode_message(frame);
    if (!m.ok()) std::abort();
    const auto got = m->string_header(name);
    if (!got) std::abort();
    if (kept(value) && *got != value) std::abort();
    auto encoded = encode_message(*m);
    if (!encoded.ok() || *encoded != frame) std::abort();
    return std::move(*m);
  };
  {
    const std::string f = event_message(a, c, b);
    const EventMessage m = expect(f, ":event-type", a);
    expect(f, ":content-type", b);
    if (m.payload != c || m.headers.size() != 3 || m.headers[0].name != ":event-type" ||
        m.string_header(":message-type") != "event") {
      std::abort();
    }
  }
  {
    const std::string f = exception_message(a, c);
    const EventMessage m = expect(f, ":exception-type", a);
    if (m.payload != c || m.string_header(":message-type") != "exception") std::abort();
  }
  {
    const std::string f = error_message(b, c);
    expect(f, ":error-code", b);
    const EventMessage m = expect(f, ":error-message", c);
    if (!m.payload.empty() || m.string_header(":message-type") != "error") std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0] & 3;
  const size_t chunk = (data[0] >> 2) + 1;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (mode) {
    case 0:
      check_decode(rest, chunk);
      break;
    case 1:
      check_decode(patch_crcs(std::string(rest)), chunk);
      break;
    case 2:
      check_decode(build_frames(rest), chunk);
      break;
    default:
      check_builders(rest);
      break;
  }
  return 0;
}
