// GEMM through Eigen (header-only, so it ships inside the app on every platform). Eigen runs
// single-threaded inside each task; tasks are whole batch entries, or fixed row blocks of one
// product, so the result does not depend on the thread count.
#include <Eigen/Core>

#include "kernels.h"
#include "pool.h"

namespace mae {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using OutMap = Eigen::Map<RowMatrix>;

// Rows [r0, r0+rows) of op(A) where A is row-major [m,k], or [k,m] when transposed.
void product(const float* a, const float* b, float* out, int64_t m, int64_t k, int64_t n, bool transA, bool transB,
             int64_t r0, int64_t rows) {
  OutMap c(out + r0 * n, rows, n);
  if (!transA && !transB) {
    c.noalias() = ConstMap(a + r0 * k, rows, k, Eigen::OuterStride<>(k)) * ConstMap(b, k, n, Eigen::OuterStride<>(n));
  } else if (!transA && transB) {
    c.noalias() = ConstMap(a + r0 * k, rows, k, Eigen::OuterStride<>(k)) * ConstMap(b, n, k, Eigen::OuterStride<>(k)).transpose();
  } else if (transA && !transB) {
    c.noalias() = ConstMap(a + r0, k, rows, Eigen::OuterStride<>(m)).transpose() * ConstMap(b, k, n, Eigen::OuterStride<>(n));
  } else {
    c.noalias() = ConstMap(a + r0, k, rows, Eigen::OuterStride<>(m)).transpose() * ConstMap(b, n, k, Eigen::OuterStride<>(k)).transpose();
  }
}

}  // namespace

void matMul(const float* a, const float* b, float* out, int64_t m, int64_t k, int64_t n, bool transA, bool transB,
            const int32_t* aOffsets, const int32_t* bOffsets, int64_t batch) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < batch * m * n; i++) out[i] = 0.0f;
    return;
  }
  if (batch > 1) {
    parallelFor(batch, [&](int64_t i) {
      product(a + aOffsets[i], b + bOffsets[i], out + i * m * n, m, k, n, transA, transB, 0, m);
    });
    return;
  }
  // One product: split its rows into blocks of at least 32 (about 64K multiply-adds per block
  // at the least), a function of the shape only.
  const int64_t work = m * k * n;
  int64_t blockRows = m;
  if (work >= (int64_t{1} << 18) && m >= 64) {
    const int64_t blocks = std::min<int64_t>(16, m / 32);
    blockRows = ((m + blocks - 1) / blocks + 7) / 8 * 8;
  }
  const int64_t tasks = (m + blockRows - 1) / blockRows;
  parallelFor(tasks, [&](int64_t t) {
    const int64_t r0 = t * blockRows;
    product(a + aOffsets[0], b + bOffsets[0], out, m, k, n, transA, transB, r0, std::min(blockRows, m - r0));
  });
}

}  // namespace mae
