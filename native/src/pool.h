// A static thread pool with deterministic work splitting: callers cut work into tasks whose
// boundaries depend only on the problem size, never on the thread count, and every output
// element is computed by exactly one task in a fixed order. So results are bit-identical with
// 1 and N threads; the threads only change which core runs a task.
#pragma once
#include <cstdint>
#include <functional>

namespace mae {

/** Sets the number of threads (the calling thread included); 0 means hardware concurrency. */
void setThreads(int count);
/** The number of threads (the calling thread included). */
int threadCount();
/** Runs fn(0..tasks-1), spread over the pool; returns when all are done. */
void parallelFor(int64_t tasks, const std::function<void(int64_t)>& fn);

/** Task count for `total` units of work when each task should hold about `grain` units. */
inline int64_t taskCount(int64_t total, int64_t grain) {
  if (total <= grain) return 1;
  return (total + grain - 1) / grain;
}

}  // namespace mae
