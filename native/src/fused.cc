// Fused LayerNorm and exact-erf GELU, forward and backward: one pass each instead of the ~10
// elementwise kernels (and full-size temporaries) of the composite ops in app/mae/ops.ts. Each
// does the same float32 operations in the same order as those composite ops, so results agree
// with them (and with the cpu backend) to rounding; sums accumulate in double as reduce() does.
#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels.h"
#include "pool.h"

namespace mae {
namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per task, as elementwise.cc
constexpr int64_t kChunk = 256;      // elements per SIMD chunk of erf/exp
using Chunk = Eigen::Array<float, kChunk, 1>;

int64_t rowsPerTask(int64_t cols) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)); }

// Σ values[i] in double, over 4 interleaved accumulators (vectorisable, fixed order).
double sum(const float* values, int64_t count) {
  double acc[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= count; i += 4) {
    for (int j = 0; j < 4; j++) acc[j] += values[i + j];
  }
  for (; i < count; i++) acc[0] += values[i];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

// Runs f(start, count) over [0, size) in chunks of at most kChunk, kGrain elements a task. The
// chunk functions copy their input into aligned buffers for Eigen's erf/exp (as arrayWith in
// elementwise.cc), so an element's result never depends on the array's address.
template <class F>
void chunked(int64_t size, F f) {
  parallelFor(taskCount(size, kGrain), [&](int64_t task) {
    const int64_t last = std::min(size, (task + 1) * kGrain);
    for (int64_t start = task * kGrain; start < last; start += kChunk) f(start, std::min(kChunk, last - start));
  });
}

}  // namespace

namespace {

// Row helpers take everything as parameters (see unaryRange in elementwise.cc: a lambda's
// by-reference captures, under -fno-strict-aliasing, keep these loops from vectorising).
void normaliseRow(const float* in, const float* gamma, const float* beta, float* out, float* squares, int64_t cols,
                  float epsilon, float* meanOut, float* rstdOut) {
  const float m = static_cast<float>(sum(in, cols) / static_cast<double>(cols));  // tf.mean
  for (int64_t c = 0; c < cols; c++) squares[c] = (in[c] - m) * (in[c] - m);     // tf.squaredDifference
  const float variance = static_cast<float>(sum(squares, cols) / static_cast<double>(cols));
  const float s = 1.0f / std::sqrt(variance + epsilon);  // tf.rsqrt(tf.add(variance, epsilon))
  for (int64_t c = 0; c < cols; c++) out[c] = ((in[c] - m) * s) * gamma[c] + beta[c];
  *meanOut = m;
  *rstdOut = s;
}

// One row of LayerNorm's backward; adds the row's dy·x̂ and dy to the partial sums pg and pb.
// The scratch rows and partial sums are this task's own (__restrict).
void normaliseRowGrad(const float* d, const float* in, const float* gamma, float m, float s, float* out,
                      float* __restrict xHat, float* __restrict gradXHat, float* __restrict product,
                      double* __restrict pg, double* __restrict pb, int64_t cols) {
  for (int64_t c = 0; c < cols; c++) {
    xHat[c] = (in[c] - m) * s;
    gradXHat[c] = d[c] * gamma[c];
    product[c] = gradXHat[c] * xHat[c];
  }
  for (int64_t c = 0; c < cols; c++) {
    pg[c] += static_cast<double>(d[c] * xHat[c]);
    pb[c] += static_cast<double>(d[c]);
  }
  const float meanGrad = static_cast<float>(sum(gradXHat, cols) / static_cast<double>(cols));
  const float meanProduct = static_cast<float>(sum(product, cols) / static_cast<double>(cols));
  for (int64_t c = 0; c < cols; c++) out[c] = s * ((gradXHat[c] - meanGrad) - xHat[c] * meanProduct);
}

void addRow(float* y, const float* bias, int64_t count) {
  for (int64_t c = 0; c < count; c++) y[c] = y[c] + bias[c];
}

}  // namespace

void layerNorm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd, int64_t rows,
               int64_t cols, float epsilon) {
  const int64_t perTask = rowsPerTask(cols);
  parallelFor(taskCount(rows, perTask), [&](int64_t task) {
    std::vector<float> squares(cols);
    const int64_t last = std::min(rows, (task + 1) * perTask);
    for (int64_t r = task * perTask; r < last; r++) {
      normaliseRow(x + r * cols, gamma, beta, y + r * cols, squares.data(), cols, epsilon, mean + r, rstd + r);
    }
  });
}

void layerNormGrad(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd, float* dx,
                   float* dgamma, float* dbeta, int64_t rows, int64_t cols) {
  // dx per row; dγ = Σ_rows dy·x̂ and dβ = Σ_rows dy as per-task partial sums (double), added in
  // task order afterwards: the task split depends on the shape only, so threads never change a bit.
  const int64_t perTask = rowsPerTask(cols);
  const int64_t tasks = taskCount(rows, perTask);
  std::vector<double> partialGamma(static_cast<size_t>(tasks * cols), 0.0);
  std::vector<double> partialBeta(static_cast<size_t>(tasks * cols), 0.0);
  parallelFor(tasks, [&](int64_t task) {
    std::vector<float> scratch(3 * cols);
    const int64_t last = std::min(rows, (task + 1) * perTask);
    for (int64_t r = task * perTask; r < last; r++) {
      normaliseRowGrad(dy + r * cols, x + r * cols, gamma, mean[r], rstd[r], dx + r * cols, scratch.data(),
                       scratch.data() + cols, scratch.data() + 2 * cols, partialGamma.data() + task * cols,
                       partialBeta.data() + task * cols, cols);
    }
  });
  for (int64_t c = 0; c < cols; c++) {
    double g = 0.0, b = 0.0;
    for (int64_t t = 0; t < tasks; t++) {
      g += partialGamma[t * cols + c];
      b += partialBeta[t * cols + c];
    }
    dgamma[c] = static_cast<float>(g);
    dbeta[c] = static_cast<float>(b);
  }
}

namespace {

// y = (x·0.5)·(1 + erf(x·√½)) for one chunk of at most kChunk elements.
void geluChunk(const float* x, float* y, int64_t count) {
  alignas(64) float scaled[kChunk];
  alignas(64) float erfs[kChunk];
  for (int64_t i = 0; i < count; i++) scaled[i] = x[i] * static_cast<float>(M_SQRT1_2);
  std::fill(scaled + count, scaled + kChunk, 0.0f);
  Eigen::Map<Chunk, Eigen::Aligned64> erfMap(erfs);
  erfMap = Eigen::Map<const Chunk, Eigen::Aligned64>(scaled).erf();
  for (int64_t i = 0; i < count; i++) y[i] = (x[i] * 0.5f) * (1.0f + erfs[i]);
}

// dx = dy·(Φ(x) + x·φ(x)), Φ(x) = 0.5·(1 + erf(x·√½)), φ(x) = exp(x²·−0.5)·(1/√(2π)), for one chunk.
void geluGradChunk(const float* dy, const float* x, float* dx, int64_t count) {
  const float inverseRoot2Pi = static_cast<float>(1.0 / std::sqrt(2.0 * M_PI));
  alignas(64) float scaled[kChunk];
  alignas(64) float exponent[kChunk];
  alignas(64) float erfs[kChunk];
  alignas(64) float exps[kChunk];
  for (int64_t i = 0; i < count; i++) {
    scaled[i] = x[i] * static_cast<float>(M_SQRT1_2);
    exponent[i] = (x[i] * x[i]) * -0.5f;
  }
  std::fill(scaled + count, scaled + kChunk, 0.0f);
  std::fill(exponent + count, exponent + kChunk, 0.0f);
  Eigen::Map<Chunk, Eigen::Aligned64> erfMap(erfs), expMap(exps);
  erfMap = Eigen::Map<const Chunk, Eigen::Aligned64>(scaled).erf();
  expMap = Eigen::Map<const Chunk, Eigen::Aligned64>(exponent).exp();
  for (int64_t i = 0; i < count; i++) {
    const float cdf = 0.5f * (1.0f + erfs[i]);
    const float pdf = exps[i] * inverseRoot2Pi;
    dx[i] = dy[i] * (cdf + x[i] * pdf);
  }
}

}  // namespace

void gelu(const float* x, float* y, int64_t size) {
  chunked(size, [&](int64_t start, int64_t count) { geluChunk(x + start, y + start, count); });
}

void geluGrad(const float* dy, const float* x, float* dx, int64_t size) {
  chunked(size, [&](int64_t start, int64_t count) { geluGradChunk(dy + start, x + start, dx + start, count); });
}

void linear(const float* x, const float* weight, const float* bias, float* y, int64_t rows, int64_t in, int64_t out) {
  // The product, then + bias row by row: the same float operations as the BatchMatMul and Add kernels.
  const int32_t zero = 0;
  matMul(x, weight, y, rows, in, out, false, false, &zero, &zero, 1);
  const int64_t perTask = rowsPerTask(out);
  parallelFor(taskCount(rows, perTask), [&](int64_t task) {
    const int64_t last = std::min(rows, (task + 1) * perTask);
    for (int64_t r = task * perTask; r < last; r++) addRow(y + r * out, bias, out);
  });
}

void linearGrad(const float* dy, const float* x, const float* weight, float* dx, float* dweight, float* dbias,
                int64_t rows, int64_t in, int64_t out) {
  // As TF.js's gradients of matMul and the broadcast add: dy·Wᵀ, xᵀ·dy, Σ_rows dy.
  const int32_t zero = 0;
  matMul(dy, weight, dx, rows, out, in, false, true, &zero, &zero, 1);
  matMul(x, dy, dweight, in, rows, out, true, false, &zero, &zero, 1);
  reduce(ReduceOp::Sum, dy, dbias, 1, rows, out);
}

}  // namespace mae
