// GEMM through Eigen (header-only, so it ships inside the app on every platform). Eigen runs
// single-threaded inside each task; tasks are whole batch entries, or fixed row or column blocks
// of one product (chosen from the shape alone), so the result does not depend on the thread count.
#include <Eigen/Core>

#include "kernels.h"
#include "pool.h"

namespace mae {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using OutMap = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;

// Block [r0, r0+rows) × [c0, c0+cols) of op(A)·op(B), where A is row-major [m,k] ([k,m] when
// transposed) and B is [k,n] ([n,k] when transposed); C is row-major [m,n].
void product(const float* a, const float* b, float* out, int64_t m, int64_t k, int64_t n, bool transA, bool transB,
             int64_t r0, int64_t rows, int64_t c0, int64_t cols) {
  OutMap c(out + r0 * n + c0, rows, cols, Eigen::OuterStride<>(n));
  const ConstMap opA = transA ? ConstMap(a + r0, k, rows, Eigen::OuterStride<>(m))
                              : ConstMap(a + r0 * k, rows, k, Eigen::OuterStride<>(k));
  const ConstMap opB = transB ? ConstMap(b + c0 * k, cols, k, Eigen::OuterStride<>(k))
                              : ConstMap(b + c0, k, cols, Eigen::OuterStride<>(n));
  if (!transA && !transB) {
    c.noalias() = opA * opB;
  } else if (!transA && transB) {
    c.noalias() = opA * opB.transpose();
  } else if (transA && !transB) {
    c.noalias() = opA.transpose() * opB;
  } else {
    c.noalias() = opA.transpose() * opB.transpose();
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
      product(a + aOffsets[i], b + bOffsets[i], out + i * m * n, m, k, n, transA, transB, 0, m, 0, n);
    });
    return;
  }
  // One product: cut the longer side of C into blocks (a function of the shape only). Each
  // block packs the other operand again, so blocks are large: 64 rows or columns at least, at
  // most 8 of them, and only for products of 2^20 multiply-adds or more. Cutting the columns
  // when C is wider than tall repacks the smaller A, not B (a weight matrix, mostly).
  const int64_t work = m * k * n;
  const bool byColumns = n > m;
  const int64_t side = byColumns ? n : m;
  int64_t block = side;
  if (work >= (int64_t{1} << 20) && side >= 128) {
    const int64_t blocks = std::min<int64_t>(8, side / 64);
    block = ((side + blocks - 1) / blocks + 7) / 8 * 8;
  }
  const int64_t tasks = (side + block - 1) / block;
  parallelFor(tasks, [&](int64_t t) {
    const int64_t first = t * block, size = std::min(block, side - first);
    if (byColumns) {
      product(a + aOffsets[0], b + bOffsets[0], out, m, k, n, transA, transB, 0, m, first, size);
    } else {
      product(a + aOffsets[0], b + bOffsets[0], out, m, k, n, transA, transB, first, size, 0, n);
    }
  });
}

}  // namespace mae
