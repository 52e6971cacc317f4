#include "pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define MAE_PAUSE() _mm_pause()
#else
#define MAE_PAUSE() std::this_thread::yield()
#endif

namespace mae {
namespace {

class Pool {
 public:
  explicit Pool(int threads) { start(threads); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    std::lock_guard<std::mutex> call(callMutex_);
    stop();
    start(threads);
  }

  void run(int64_t tasks, const std::function<void(int64_t)>& fn) {
    // One parallel region at a time; a nested or concurrent caller (another worker_thread)
    // runs its tasks inline, which gives the same result.
    std::unique_lock<std::mutex> call(callMutex_, std::try_to_lock);
    if (tasks <= 1 || workers_.empty() || !call.owns_lock()) {
      for (int64_t i = 0; i < tasks; i++) fn(i);
      return;
    }
    job_ = &fn;
    total_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    active_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work();
    // Wait for the workers; yield once they are slow (a loaded machine may not run them at once).
    for (int spins = 0; active_.load(std::memory_order_acquire) != 0; spins++) {
      if (spins > 2000) std::this_thread::yield();
      else MAE_PAUSE();
    }
    job_ = nullptr;
  }

 private:
  void start(int threads) {
    stopping_.store(false);
    // Each worker waits for the generation after this one. Reading it inside the new thread
    // instead raced with the first run(): a worker that started late took that run's generation
    // as already seen, and run() waited for it forever (a hang right after setThreads or at the
    // pool's first use). No run() can start before we return: both hold callMutex_ or run at construction.
    const uint64_t current = generation_.load(std::memory_order_acquire);
    for (int i = 1; i < threads; i++) workers_.emplace_back([this, current] { loop(current); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true);
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
  }

  void work() {
    for (int64_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < total_;) (*job_)(i);
  }

  void loop(uint64_t seen) {
    for (;;) {
      // Spin briefly (kernels come in quick succession during a step), then sleep.
      for (int spins = 0; generation_.load(std::memory_order_acquire) == seen && !stopping_.load(); spins++) {
        if (spins > 4000) {
          std::unique_lock<std::mutex> lock(mutex_);
          wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen || stopping_.load(); });
          break;
        }
        MAE_PAUSE();
      }
      if (stopping_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      work();
      active_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex callMutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};
  std::atomic<bool> stopping_{false};
  int64_t total_ = 0;
  const std::function<void(int64_t)>* job_ = nullptr;
};

int defaultThreads() {
  if (const char* env = std::getenv("MAE_STUDIO_THREADS")) {
    int value = std::atoi(env);
    if (value > 0) return value;
  }
  unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : static_cast<int>(hardware);
}

// Never destroyed: joining threads during process exit can deadlock inside Node's teardown.
Pool& pool() {
  static Pool* instance = new Pool(defaultThreads());
  return *instance;
}

}  // namespace

void setThreads(int count) { pool().resize(count > 0 ? count : defaultThreads()); }
int threadCount() { return pool().size(); }
void parallelFor(int64_t tasks, const std::function<void(int64_t)>& fn) { pool().run(tasks, fn); }

}  // namespace mae
