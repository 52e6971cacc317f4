// Elementwise kernels: broadcasting binary arithmetic, unary math, softmax, reductions, AdamW.
// Work is cut into tasks by size only (see pool.h), so threads never change a result.
#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels.h"
#include "pool.h"

namespace mae {
namespace {

constexpr int64_t kGrain = 1 << 15;

// Lets the compiler vectorise a loop whose pointers may alias at the same index only.
#if defined(__clang__)
#define MAE_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define MAE_IVDEP _Pragma("GCC ivdep")
#elif defined(_MSC_VER)
#define MAE_IVDEP __pragma(loop(ivdep))
#else
#define MAE_IVDEP
#endif  // elements per task: below this a thread hand-off costs more than it saves

template <class F>
void innerLoop(F f, const float* a, const float* b, float* out, int64_t count, int64_t aStride, int64_t bStride) {
  if (aStride == 1 && bStride == 1) {
    for (int64_t i = 0; i < count; i++) out[i] = f(a[i], b[i]);
  } else if (aStride == 1 && bStride == 0) {
    const float bv = *b;
    for (int64_t i = 0; i < count; i++) out[i] = f(a[i], bv);
  } else if (aStride == 0 && bStride == 1) {
    const float av = *a;
    for (int64_t i = 0; i < count; i++) out[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < count; i++) out[i] = f(a[i * aStride], b[i * bStride]);
  }
}

template <class F>
void binaryWith(F f, const float* a, const float* b, float* out, int rank, const int32_t* shape,
                const int32_t* aStrides, const int32_t* bStrides) {
  if (rank == 0) {
    out[0] = f(a[0], b[0]);
    return;
  }
  const int64_t inner = shape[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= shape[d];
  if (rows * inner == 0) return;
  const int64_t rowsPerTask = std::max<int64_t>(1, kGrain / std::max<int64_t>(inner, 1));
  parallelFor(taskCount(rows, rowsPerTask), [&](int64_t task) {
    const int64_t first = task * rowsPerTask;
    const int64_t last = std::min(rows, first + rowsPerTask);
    for (int64_t row = first; row < last; row++) {
      int64_t aOffset = 0, bOffset = 0, rest = row;
      for (int d = rank - 2; d >= 0; d--) {
        const int64_t index = rest % shape[d];
        rest /= shape[d];
        aOffset += index * aStrides[d];
        bOffset += index * bStrides[d];
      }
      innerLoop(f, a + aOffset, b + bOffset, out + row * inner, inner, aStrides[rank - 1], bStrides[rank - 1]);
    }
  });
}

// Loops take their pointers and scalars as parameters, never through a lambda's by-reference
// captures: node-gyp compiles with -fno-strict-aliasing, so the compiler must assume that each
// float store may change a captured pointer or scalar and reloads it, which keeps a loop scalar.
template <class F>
void unaryRange(F f, const float* x, float* out, int64_t count) {
  for (int64_t i = 0; i < count; i++) out[i] = f(x[i]);
}

template <class F>
void unaryWith(F f, const float* x, float* out, int64_t size) {
  parallelFor(taskCount(size, kGrain), [&](int64_t task) {
    const int64_t first = task * kGrain;
    unaryRange(f, x + first, out + first, std::min(size, first + kGrain) - first);
  });
}

// Vectorised transcendental functions (Eigen's SIMD polynomial/rational approximations, a few
// ulp from the correctly rounded result). Eigen computes the elements before the first aligned
// address, and the tail, with the scalar std:: function instead, so on a plain Map the result of
// an element depended on where V8 happened to place the array (and differed run to run). Each
// element goes through the same SIMD path here: chunks are copied into an aligned buffer whose
// size is a multiple of every packet size, the tail padded. `fix(x, y)` then corrects y = f(x)
// where the approximation is known to be wrong.
template <class F, class Fix>
void arrayWith(F f, Fix fix, const float* x, float* out, int64_t size) {
  constexpr int64_t kChunk = 256;
  using Chunk = Eigen::Array<float, kChunk, 1>;
  parallelFor(taskCount(size, kGrain), [&](int64_t task) {
    alignas(64) float in[kChunk];
    alignas(64) float result[kChunk];
    const int64_t last = std::min(size, (task + 1) * kGrain);
    for (int64_t start = task * kGrain; start < last; start += kChunk) {
      const int64_t count = std::min(kChunk, last - start);
      std::copy(x + start, x + start + count, in);
      std::fill(in + count, in + kChunk, 0.0f);
      Eigen::Map<Chunk, Eigen::Aligned64> resultChunk(result);
      resultChunk = f(Eigen::Map<const Chunk, Eigen::Aligned64>(in));
      for (int64_t i = 0; i < count; i++) out[start + i] = fix(in[i], result[i]);
    }
  });
}

template <class F>
void arrayWith(F f, const float* x, float* out, int64_t size) {
  arrayWith(f, [](float, float y) { return y; }, x, out, size);
}

}  // namespace

void binary(BinaryOp op, const float* a, const float* b, float* out, int rank, const int32_t* shape,
            const int32_t* aStrides, const int32_t* bStrides) {
  switch (op) {
    case BinaryOp::Add:
      return binaryWith([](float x, float y) { return x + y; }, a, b, out, rank, shape, aStrides, bStrides);
    case BinaryOp::Sub:
      return binaryWith([](float x, float y) { return x - y; }, a, b, out, rank, shape, aStrides, bStrides);
    case BinaryOp::Mul:
      return binaryWith([](float x, float y) { return x * y; }, a, b, out, rank, shape, aStrides, bStrides);
    case BinaryOp::Div:
      return binaryWith([](float x, float y) { return x / y; }, a, b, out, rank, shape, aStrides, bStrides);
    case BinaryOp::SquaredDifference:
      return binaryWith([](float x, float y) { return (x - y) * (x - y); }, a, b, out, rank, shape, aStrides, bStrides);
    case BinaryOp::Maximum:
      return binaryWith([](float x, float y) { return std::isnan(x) || x > y ? x : y; }, a, b, out, rank, shape,
                        aStrides, bStrides);
    case BinaryOp::Minimum:
      return binaryWith([](float x, float y) { return std::isnan(x) || x < y ? x : y; }, a, b, out, rank, shape,
                        aStrides, bStrides);
  }
}

void unary(UnaryOp op, const float* x, float* out, int64_t size) {
  switch (op) {
    case UnaryOp::Exp: return arrayWith([](const auto& v) { return v.exp(); }, x, out, size);
    case UnaryOp::Erf: return arrayWith([](const auto& v) { return v.erf(); }, x, out, size);
    case UnaryOp::Sqrt: return unaryWith([](float v) { return std::sqrt(v); }, x, out, size);
    case UnaryOp::Rsqrt: return unaryWith([](float v) { return 1.0f / std::sqrt(v); }, x, out, size);
    case UnaryOp::Square: return unaryWith([](float v) { return v * v; }, x, out, size);
    case UnaryOp::Neg: return unaryWith([](float v) { return -v; }, x, out, size);
    case UnaryOp::Reciprocal: return unaryWith([](float v) { return 1.0f / v; }, x, out, size);
    case UnaryOp::Log:
      // Eigen's log clamps subnormal inputs to the smallest normal float (log(1e-40) gave -87.3, not -92.1).
      return arrayWith([](const auto& v) { return v.log(); },
                       [](float v, float y) {
                         return v > 0.0f && v < std::numeric_limits<float>::min() ? std::log(v) : y;
                       },
                       x, out, size);
    case UnaryOp::Abs: return unaryWith([](float v) { return std::fabs(v); }, x, out, size);
    case UnaryOp::Relu: return unaryWith([](float v) { return v < 0.0f ? 0.0f : v; }, x, out, size);
    case UnaryOp::Tanh: return arrayWith([](const auto& v) { return v.tanh(); }, x, out, size);
    case UnaryOp::Sigmoid: return unaryWith([](float v) { return 1.0f / (1.0f + std::exp(-v)); }, x, out, size);
  }
}

void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t reduced, int64_t inner) {
  // Sums accumulate in double, in index order, as the JS cpu backend does.
  const bool extreme = op == ReduceOp::Max || op == ReduceOp::Min;
  const double scale = op == ReduceOp::Mean && reduced > 0 ? 1.0 / static_cast<double>(reduced) : 1.0;
  auto combine = [op](double acc, double v) {
    if (op == ReduceOp::Max) return std::isnan(v) || v > acc ? v : acc;
    if (op == ReduceOp::Min) return std::isnan(v) || v < acc ? v : acc;
    return acc + v;
  };
  const double start = op == ReduceOp::Max ? -std::numeric_limits<double>::infinity()
                       : op == ReduceOp::Min ? std::numeric_limits<double>::infinity() : 0.0;
  // Tasks cover blocks of output columns of one outer slice: [outer, inner/blockInner].
  const int64_t blockInner =
      inner == 1 ? 1 : std::min<int64_t>(inner, std::max<int64_t>(64, kGrain / std::max<int64_t>(reduced, 1)));
  const int64_t innerBlocks = (inner + blockInner - 1) / blockInner;
  const int64_t outerPerTask = inner == 1 ? std::max<int64_t>(1, kGrain / std::max<int64_t>(reduced, 1)) : 1;
  const int64_t outerTasks = (outer + outerPerTask - 1) / outerPerTask;
  parallelFor(outerTasks * innerBlocks, [&](int64_t task) {
    const int64_t o0 = (task / innerBlocks) * outerPerTask;
    const int64_t o1 = std::min(outer, o0 + outerPerTask);
    const int64_t i0 = (task % innerBlocks) * blockInner;
    const int64_t i1 = std::min(inner, i0 + blockInner);
    double acc[64];
    for (int64_t o = o0; o < o1; o++) {
      for (int64_t c0 = i0; c0 < i1; c0 += 64) {
        const int64_t width = std::min<int64_t>(64, i1 - c0);
        for (int64_t j = 0; j < width; j++) acc[j] = start;
        const float* base = x + o * reduced * inner + c0;
        for (int64_t r = 0; r < reduced; r++) {
          const float* row = base + r * inner;
          if (extreme) {
            for (int64_t j = 0; j < width; j++) acc[j] = combine(acc[j], row[j]);
          } else {
            for (int64_t j = 0; j < width; j++) acc[j] += row[j];
          }
        }
        for (int64_t j = 0; j < width; j++) out[o * inner + c0 + j] = static_cast<float>(acc[j] * scale);
      }
    }
  });
}

namespace {

// One row: exp(x − max) through Eigen's SIMD exp on a padded copy (every element through the same
// packet path, as arrayWith), summed in double in index order, then scaled by 1/sum.
void softmaxRow(const float* in, float* o, int64_t cols, Eigen::ArrayXf& shifted) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t c = 0; c < cols; c++) max = std::max(max, in[c]);
  for (int64_t c = 0; c < cols; c++) shifted[c] = in[c] - max;
  shifted = shifted.exp();
  double sum = 0.0;
  for (int64_t c = 0; c < cols; c++) sum += shifted[c];
  const float inverse = static_cast<float>(1.0 / sum);
  for (int64_t c = 0; c < cols; c++) o[c] = shifted[c] * inverse;
}

}  // namespace

void softmax(const float* x, float* out, int64_t rows, int64_t cols) {
  const int64_t rowsPerTask = std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1));
  const int64_t padded = (cols + 15) / 16 * 16;  // whole AVX/SSE packets: no scalar tail
  parallelFor(taskCount(rows, rowsPerTask), [&](int64_t task) {
    Eigen::ArrayXf shifted = Eigen::ArrayXf::Zero(padded);
    const int64_t last = std::min(rows, (task + 1) * rowsPerTask);
    for (int64_t r = task * rowsPerTask; r < last; r++) softmaxRow(x + r * cols, out + r * cols, cols, shifted);
  });
}

namespace {

// One row of softmax's gradient: dx = dy·y − (Σ dy·y)·y, as TF.js's gradient of Softmax computes it
// (the sum in double, in index order, as the Sum kernel).
void softmaxGradRow(const float* dy, const float* y, float* dx, int64_t cols) {
  double sum = 0.0;
  for (int64_t c = 0; c < cols; c++) {
    dx[c] = dy[c] * y[c];
    sum += dx[c];
  }
  const float total = static_cast<float>(sum);
  for (int64_t c = 0; c < cols; c++) dx[c] = dx[c] - total * y[c];
}

}  // namespace

void softmaxGrad(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols) {
  const int64_t rowsPerTask = std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1));
  parallelFor(taskCount(rows, rowsPerTask), [&](int64_t task) {
    const int64_t last = std::min(rows, (task + 1) * rowsPerTask);
    for (int64_t r = task * rowsPerTask; r < last; r++) {
      softmaxGradRow(dy + r * cols, y + r * cols, dx + r * cols, cols);
    }
  });
}

namespace {

// Outputs may be the inputs themselves (an in-place update): element i is read before it is
// written and no other element is touched, so iterations are independent (MAE_IVDEP).
void adamwRange(const float* param, const float* m, const float* v, const float* grad, float* outParam, float* outM,
                float* outV, int64_t count, AdamWScalars k) {
  const float beta1 = k.beta1, oneMinusBeta1 = k.oneMinusBeta1, beta2 = k.beta2, oneMinusBeta2 = k.oneMinusBeta2;
  const float rootCorrection2 = k.rootCorrection2, epsilon = k.epsilon, stepSize = k.stepSize;
  const float decayFactor = k.decays ? k.decayFactor : 1.0f;
  const bool decays = k.decays;
  MAE_IVDEP
  for (int64_t i = 0; i < count; i++) {
    // The same float32 operations, in the same order, as the composite ops of app/train/adamw.ts.
    const float g = grad[i];
    const float mi = m[i] * beta1 + g * oneMinusBeta1;
    const float vi = v[i] * beta2 + (g * g) * oneMinusBeta2;
    const float denominator = std::sqrt(vi) / rootCorrection2 + epsilon;
    const float p = param[i];
    outM[i] = mi;
    outV[i] = vi;
    outParam[i] = (decays ? p * decayFactor : p) - (mi / denominator) * stepSize;
  }
}

}  // namespace

void adamw(const float* param, const float* m, const float* v, const float* grad, float* outParam, float* outM,
           float* outV, int64_t size, const AdamWScalars& k) {
  parallelFor(taskCount(size, kGrain), [&](int64_t task) {
    const int64_t first = task * kGrain;
    adamwRange(param + first, m + first, v + first, grad + first, outParam + first, outM + first, outV + first,
               std::min(size, first + kGrain) - first, k);
  });
}

}  // namespace mae
