// The memory budget shared by every model this server holds (the primary
// model and each SageMaker endpoint loaded from a path): a total in bytes
// and named reservations against it. A load reserves its weights and KV
// cache before building its engine and is refused when they do not fit in
// what is left; the reservation goes back when the model is dropped
// (DeleteEndpoint, UpdateEndpoint replacing it, a failed or superseded
// load), through the RAII MemoryReservation its owner keeps. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"

namespace quarry::api {

class MemoryReservation;

class MemoryBudget {
 public:
  // No limit (the budget gauge then reads +Inf).
  static constexpr uint64_t kUnlimited = UINT64_MAX;

  explicit MemoryBudget(uint64_t total_bytes);
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Reserves `bytes` under `key` (a key not already held), or says why not:
  // "not enough memory: <what> need 1234 MiB, 567 MiB of the 4096 MiB
  // budget are left".
  Status reserve(const std::string& key, uint64_t bytes,
                 std::string_view what = "the model and its KV cache");
  // Gives back what `key` holds; false when it holds nothing.
  bool release(const std::string& key);
  // reserve(), as a handle that releases on destruction. The handle may
  // outlive this object (the bookkeeping is shared).
  Result<MemoryReservation> hold(const std::string& key, uint64_t bytes,
                                 std::string_view what = "the model and its KV cache");

  uint64_t total() const;
  uint64_t reserved() const;
  uint64_t left() const;  // total() - reserved()
  bool unlimited() const { return total() == kUnlimited; }

 private:
  struct State {
    uint64_t total = 0;
    mutable std::mutex mu;
    uint64_t reserved = 0;
    std::map<std::string, uint64_t> held;
  };
  friend class MemoryReservation;
  static bool release(State& s, const std::string& key);

  std::shared_ptr<State> state_;
};

// One reservation; releases it when destroyed (or at release()), once.
class MemoryReservation {
 public:
  MemoryReservation() = default;
  MemoryReservation(MemoryReservation&& o) noexcept;
  MemoryReservation& operator=(MemoryReservation&& o) noexcept;
  MemoryReservation(const MemoryReservation&) = delete;
  MemoryReservation& operator=(const MemoryReservation&) = delete;
  ~MemoryReservation() { release(); }

  void release();
  bool held() const { return state_ != nullptr; }
  const std::string& key() const { return key_; }
  uint64_t bytes() const { return bytes_; }

 private:
  friend class MemoryBudget;
  MemoryReservation(std::shared_ptr<MemoryBudget::State> s, std::string key, uint64_t bytes)
      : state_(std::move(s)), key_(std::move(key)), bytes_(bytes) {}

  std::shared_ptr<MemoryBudget::State> state_;
  std::string key_;
  uint64_t bytes_ = 0;
};

// A size such as "1073741824", "512M", "8G", "8GiB", "1.5g": bytes, or a
// number with a suffix K, M, G or T (powers of 1024; "Ki", "KiB", "KB" and
// so on mean the same). Zero and anything else are refused with a message.
Result<uint64_t> parse_byte_size(std::string_view text);

}  // namespace quarry::api
