// The math behind the native TF.js kernels. All tensors are dense float32 in row-major order;
// the JS side computes shapes and strides and allocates outputs.
#pragma once
#include <cstdint>

namespace mae {

constexpr int kMaxRank = 8;

/** out[b] = op(A[aOffsets[b]]) · op(B[bOffsets[b]]); A is [m,k] ([k,m] if transA), B is [k,n] ([n,k] if transB). */
void matMul(const float* a, const float* b, float* out, int64_t m, int64_t k, int64_t n, bool transA, bool transB,
            const int32_t* aOffsets, const int32_t* bOffsets, int64_t batch);

enum class BinaryOp { Add = 0, Sub = 1, Mul = 2, Div = 3, SquaredDifference = 4, Maximum = 5, Minimum = 6 };
/** out = op(a, b) over `shape` (rank ≤ kMaxRank) with element strides for a and b (0 = broadcast); out is dense. */
void binary(BinaryOp op, const float* a, const float* b, float* out, int rank, const int32_t* shape,
            const int32_t* aStrides, const int32_t* bStrides);

enum class UnaryOp {
  Exp = 0, Erf = 1, Sqrt = 2, Rsqrt = 3, Square = 4, Neg = 5, Reciprocal = 6, Log = 7, Abs = 8, Relu = 9, Tanh = 10,
  Sigmoid = 11
};
void unary(UnaryOp op, const float* x, float* out, int64_t size);

enum class ReduceOp { Sum = 0, Mean = 1, Max = 2, Min = 3 };
/** Reduces the middle axis of x viewed as [outer, reduced, inner] → out [outer, inner]. */
void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t reduced, int64_t inner);

/** Softmax over the last axis of x viewed as [rows, cols]. */
void softmax(const float* x, float* out, int64_t rows, int64_t cols);

/** Softmax's gradient from dy and its output y: dx = dy·y − (Σ_row dy·y)·y. */
void softmaxGrad(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols);

/** dst[dstOffset + Σ i·dstStrides] = src[srcOffset + Σ i·srcStrides] for every index i of `shape`. */
void stridedCopy(const float* src, float* dst, int rank, const int32_t* shape, const int32_t* srcStrides,
                 const int32_t* dstStrides);

/** out[o, j, :] = x[o, indices[j], :] for x viewed as [outer, rows, inner]; false when an index is out of range. */
bool gather(const float* x, const int32_t* indices, float* out, int64_t outer, int64_t rows, int64_t inner,
            int64_t count);

/** AdamW's per-step float32 constants, each rounded from double once, as TF.js scalars are. */
struct AdamWScalars {
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2, rootCorrection2, epsilon, decayFactor, stepSize;
  bool decays;
};

/** One AdamW step as torch.optim.AdamW (decoupled decay, then the Adam update) into new arrays. */
void adamw(const float* param, const float* m, const float* v, const float* grad, float* outParam, float* outM,
           float* outV, int64_t size, const AdamWScalars& scalars);

/**
 * LayerNorm over rows of x [rows, cols]: y = (x − mean)·rstd·γ + β; also writes each row's mean and rstd = 1/√(var +
 * ε).
 */
void layerNorm(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd, int64_t rows,
               int64_t cols, float epsilon);

/** LayerNorm's gradients from dy, x and the forward's mean and rstd: dx [rows, cols], dγ and dβ [cols]. */
void layerNormGrad(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd, float* dx,
                   float* dgamma, float* dbeta, int64_t rows, int64_t cols);

/** Exact GELU, y = x·Φ(x), elementwise. */
void gelu(const float* x, float* y, int64_t size);

/** GELU's gradient, dx = dy·(Φ(x) + x·φ(x)). */
void geluGrad(const float* dy, const float* x, float* dx, int64_t size);

/** y [rows, out] = x [rows, in] · weight [in, out] + bias [out]. */
void linear(const float* x, const float* weight, const float* bias, float* y, int64_t rows, int64_t in, int64_t out);

/** linear's gradients: dx = dy·weightᵀ, dweight = xᵀ·dy, dbias = Σ_rows dy. */
void linearGrad(const float* dy, const float* x, const float* weight, float* dx, float* dweight, float* dbias,
                int64_t rows, int64_t in, int64_t out);

}  // namespace mae
