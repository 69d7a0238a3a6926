#include "api/memory_budget.h"

#include <cctype>

namespace quarry::api {
namespace {

// MiB for messages: what is needed rounds up, what is there rounds down, so
// that a refusal never reads "need 5 MiB, 5 MiB are left".
std::string mib_up(uint64_t bytes) {
  return std::to_string((bytes >> 20) + ((bytes & 0xFFFFF) != 0));
}
std::string mib_down(uint64_t bytes) { return std::to_string(bytes >> 20); }

}  // namespace

MemoryBudget::MemoryBudget(uint64_t total_bytes) : state_(std::make_shared<State>()) {
  state_->total = total_bytes;
}

Status MemoryBudget::reserve(const std::string& key, uint64_t bytes, std::string_view what) {
  State& s = *state_;
  std::lock_guard lock(s.mu);
  if (s.held.contains(key)) return make_error("memory for \"" + key + "\" is already reserved");
  const uint64_t left = s.total - s.reserved;
  if (bytes > left) {
    return make_error("not enough memory: " + std::string(what) + " need " + mib_up(bytes) +
                      " MiB, " + mib_down(left) + " MiB of the " + mib_down(s.total) +
                      " MiB budget are left");
  }
  s.reserved += bytes;
  s.held.emplace(key, bytes);
  return Status::Ok();
}

bool MemoryBudget::release(State& s, const std::string& key) {
  std::lock_guard lock(s.mu);
  auto it = s.held.find(key);
  if (it == s.held.end()) return false;
  s.reserved -= it->second;
  s.held.erase(it);
  return true;
}

bool MemoryBudget::release(const std::string& key) { return release(*state_, key); }

Result<MemoryReservation> MemoryBudget::hold(const std::string& key, uint64_t bytes,
                                             std::string_view what) {
  if (Status s = reserve(key, bytes, what); !s.ok()) return make_error(s.message());
  return MemoryReservation(state_, key, bytes);
}

uint64_t MemoryBudget::total() const { return state_->total; }

uint64_t MemoryBudget::reserved() const {
  std::lock_guard lock(state_->mu);
  return state_->reserved;
}

uint64_t MemoryBudget::left() const {
  std::lock_guard lock(state_->mu);
  return state_->total - state_->reserved;
}

MemoryReservation::MemoryReservation(MemoryReservation&& o) noexcept
    : state_(std::move(o.state_)), key_(std::move(o.key_)), bytes_(o.bytes_) {
  o.state_.reset();
}

MemoryReservation& MemoryReservation::operator=(MemoryReservation&& o) noexcept {
  if (this != &o) {
    release();
    state_ = std::move(o.state_);
    o.state_.reset();
    key_ = std::move(o.key_);
    bytes_ = o.bytes_;
  }
  return *this;
}

void MemoryReservation::release() {
  if (!state_) return;
  MemoryBudget::release(*state_, key_);
  state_.reset();
}

Result<uint64_t> parse_byte_size(std::string_view text) {
  std::string quoted = "\"";  // built in steps: GCC 12 warns (-Wrestrict) on "x" + string
  quoted += text;
  quoted += '"';
  auto bad = [&] {
    return make_error(quoted +
                      " is not a size: expected bytes, or a number with a suffix K, M, G or T "
                      "(e.g. 512M, 8G, 8GiB)");
  };
  size_t i = 0;
  uint64_t whole = 0;
  auto digit = [&](size_t at) {
    return at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]));
  };
  if (!digit(0)) return bad();
  for (; digit(i); ++i) {
    if (__builtin_mul_overflow(whole, uint64_t{10}, &whole) ||
        __builtin_add_overflow(whole, static_cast<uint64_t>(text[i] - '0'), &whole)) {
      return make_error(quoted + " is too large");
    }
  }
  // A fraction of the unit ("1.5G"): its first 9 digits count.
  uint64_t frac = 0, scale = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digit(i)) return bad();
    for (; digit(i); ++i) {
      if (scale < 1'000'000'000) {
        frac = frac * 10 + static_cast<uint64_t>(text[i] - '0');
        scale *= 10;
      }
    }
  }
  std::string unit;
  for (; i < text.size(); ++i) {
    unit.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(text[i]))));
  }
  int shift = -1;
  if (unit.empty() || unit == "B") shift = 0;
  const std::string_view prefixes = "KMGT";
  for (size_t p = 0; p < prefixes.size(); ++p) {
    const std::string u(1, prefixes[p]);
    if (unit == u || unit == u + "B" || unit == u + "I" || unit == u + "IB")
      shift = 10 * static_cast<int>(p + 1);
  }
  if (shift < 0) return bad();
  if (shift == 0 && scale > 1) return make_error(quoted + " is not a whole number of bytes");
  if (whole > (UINT64_MAX >> shift)) return make_error(quoted + " is too large");
  uint64_t bytes = whole << shift;
  // frac / scale of a unit, in 64 bits (unit <= 2^40, frac < scale <= 1e9).
  const uint64_t unit_bytes = uint64_t{1} << shift;
  const uint64_t extra = unit_bytes / scale * frac + unit_bytes % scale * frac / scale;
  if (__builtin_add_overflow(bytes, extra, &bytes)) return make_error(quoted + " is too large");
  if (bytes == 0) return make_error(quoted + " is not a size: it must be more than 0 bytes");
  return bytes;
}

}  // namespace quarry::api
