#include "base/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define QUARRY_CPU_RELAX() _mm_pause()
#else
#define QUARRY_CPU_RELAX() ((void)0)
#endif

namespace quarry {
namespace {

// Waiting: spin with pause for kSpinRounds, then yield the core for
// kYieldRounds (cheap when threads outnumber idle cores), then sleep on the
// atomic (futex). A forward pass issues parallel_for calls microseconds apart,
// so most waits end while spinning.
constexpr int kSpinRounds = 2000;
constexpr int kYieldRounds = 50;

thread_local bool t_inside_pool = false;

template <class Pred>
void spin_then_wait(const std::atomic<uint64_t>& a, uint64_t old, Pred done) {
  for (int i = 0; i < kSpinRounds; ++i) {
    if (done()) return;
    QUARRY_CPU_RELAX();
  }
  for (int i = 0; i < kYieldRounds; ++i) {
    if (done()) return;
    std::this_thread::yield();
  }
  while (!done()) a.wait(old, std::memory_order_acquire);
}

}  // namespace

ThreadPool::ThreadPool(size_t n_threads) {
  if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
  n_threads_ = n_threads;
  workers_.reserve(n_threads_ - 1);
  for (size_t i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread& t : workers_) t.join();
}

ThreadPool& ThreadPool::global() {
  static ThreadPool pool(0);
  return pool;
}

std::pair<size_t, size_t> ThreadPool::chunk(size_t n, size_t grain, size_t index,
                                            size_t n_threads) {
  if (grain == 0) grain = 1;
  const size_t units = (n + grain - 1) / grain;
  const size_t b = std::min(n, units * index / n_threads * grain);
  const size_t e = std::min(n, units * (index + 1) / n_threads * grain);
  return {b, e};
}

void ThreadPool::run_chunk(size_t index) {
  const auto [b, e] = chunk(n_, grain_, index, n_threads_);
  if (b < e) call_(ctx_, b, e);
}

void ThreadPool::run(size_t n, size_t grain, Call call, void* ctx) {
  if (n == 0) return;
  if (n_threads_ == 1 || t_inside_pool || n <= grain) {
    call(ctx, 0, n);
    return;
  }
  std::lock_guard<std::mutex> lock(caller_mutex_);
  call_ = call;
  ctx_ = ctx;
  n_ = n;
  grain_ = grain == 0 ? 1 : grain;
  pending_.store(workers_.size(), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();

  t_inside_pool = true;
  run_chunk(0);
  t_inside_pool = false;

  for (int i = 0; i < kSpinRounds; ++i) {
    if (pending_.load(std::memory_order_acquire) == 0) return;
    QUARRY_CPU_RELAX();
  }
  for (int i = 0; i < kYieldRounds; ++i) {
    if (pending_.load(std::memory_order_acquire) == 0) return;
    std::this_thread::yield();
  }
  for (size_t left = pending_.load(std::memory_order_acquire); left != 0;
       left = pending_.load(std::memory_order_acquire)) {
    pending_.wait(left, std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop(size_t index) {
  t_inside_pool = true;
  uint64_t seen = 0;
  for (;;) {
    spin_then_wait(generation_, seen,
                   [&] { return generation_.load(std::memory_order_acquire) != seen; });
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_relaxed)) return;
    run_chunk(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

}  // namespace quarry
