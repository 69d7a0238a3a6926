// A small persistent thread pool for the compute kernels: workers are created
// once and wait on a generation counter; parallel_for() splits [0, n)
// statically into one contiguous chunk per thread (the caller runs chunk 0)
// and returns when every chunk is done. Each element is computed by exactly
// one thread in a fixed order, so results do not depend on the thread count.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace quarry {

class ThreadPool {
 public:
  // n_threads counts the calling thread; 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(size_t n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return n_threads_; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n); chunk boundaries
  // are multiples of `grain` (except the end). Chunk i goes to thread i. fn
  // must not throw. A call from inside a running fn runs serially.
  template <class F>
  void parallel_for(size_t n, size_t grain, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    run(
        n, grain, [](void* ctx, size_t b, size_t e) { (*static_cast<Fn*>(ctx))(b, e); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }
  template <class F>
  void parallel_for(size_t n, F&& fn) {
    parallel_for(n, 1, std::forward<F>(fn));
  }

  // The chunk [begin, end) of thread `index` when [0, n) is split for `n_threads`.
  static std::pair<size_t, size_t> chunk(size_t n, size_t grain, size_t index, size_t n_threads);

  // A process-wide pool with the default thread count, created on first use.
  static ThreadPool& global();

 private:
  using Call = void (*)(void* ctx, size_t begin, size_t end);
  void run(size_t n, size_t grain, Call call, void* ctx);
  void worker_loop(size_t index);
  void run_chunk(size_t index);

  size_t n_threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex caller_mutex_;  // one parallel_for at a time

  // The current job (written by the caller before the generation bump).
  Call call_ = nullptr;
  void* ctx_ = nullptr;
  size_t n_ = 0;
  size_t grain_ = 1;

  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<size_t> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace quarry
