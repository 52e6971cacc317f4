// Data movement: one strided copy serves Transpose, Slice, SplitV, Concat and Pad; plus Gather.
#include <algorithm>
#include <cstring>

#include "kernels.h"
#include "pool.h"

namespace mae {

void stridedCopy(const float* src, float* dst, int rank, const int32_t* shape, const int32_t* srcStrides,
                 const int32_t* dstStrides) {
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  const int64_t inner = shape[rank - 1];
  const int64_t srcInner = srcStrides[rank - 1];
  const int64_t dstInner = dstStrides[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= shape[d];
  if (rows * inner == 0) return;
  const int64_t rowsPerTask = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(inner, 1));
  parallelFor(taskCount(rows, rowsPerTask), [&](int64_t task) {
    const int64_t first = task * rowsPerTask;
    const int64_t last = std::min(rows, first + rowsPerTask);
    for (int64_t row = first; row < last; row++) {
      int64_t srcOffset = 0, dstOffset = 0, rest = row;
      for (int d = rank - 2; d >= 0; d--) {
        const int64_t index = rest % shape[d];
        rest /= shape[d];
        srcOffset += index * srcStrides[d];
        dstOffset += index * dstStrides[d];
      }
      const float* s = src + srcOffset;
      float* o = dst + dstOffset;
      if (srcInner == 1 && dstInner == 1) {
        std::memcpy(o, s, sizeof(float) * inner);
      } else {
        for (int64_t i = 0; i < inner; i++) o[i * dstInner] = s[i * srcInner];
      }
    }
  });
}

bool gather(const float* x, const int32_t* indices, float* out, int64_t outer, int64_t rows, int64_t inner,
            int64_t count) {
  for (int64_t j = 0; j < count; j++) {
    if (indices[j] < 0 || indices[j] >= rows) return false;
  }
  const int64_t perTask = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(inner, 1));
  parallelFor(taskCount(outer * count, perTask), [&](int64_t task) {
    const int64_t first = task * perTask;
    const int64_t last = std::min(outer * count, first + perTask);
    for (int64_t item = first; item < last; item++) {
      const int64_t o = item / count, j = item % count;
      std::memcpy(out + item * inner, x + (o * rows + indices[j]) * inner, sizeof(float) * inner);
    }
  });
  return true;
}

}  // namespace mae
