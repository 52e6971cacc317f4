// N-API glue: unpacks typed arrays and numbers, calls the kernels, throws TypeErrors on bad
// arguments. Outputs are allocated by the caller (JS), so no memory crosses ownership here.
#include <node_api.h>

#include <cstring>
#include <string>

#include "kernels.h"
#include "pool.h"

namespace {

struct ArgumentError {
  std::string message;
};

class Args {
 public:
  Args(napi_env env, napi_callback_info info, size_t expected, const char* name) : env_(env), name_(name) {
    count_ = 16;
    napi_get_cb_info(env, info, &count_, values_, nullptr, nullptr);
    if (count_ < expected) {
      throw ArgumentError{std::string(name) + ": expected " + std::to_string(expected) + " arguments"};
    }
  }

  template <class T>
  T* array(size_t i, napi_typedarray_type type, const char* what) {
    bool isTyped = false;
    napi_is_typedarray(env_, values_[i], &isTyped);
    napi_typedarray_type actual;
    size_t length = 0;
    void* data = nullptr;
    if (isTyped) napi_get_typedarray_info(env_, values_[i], &actual, &length, &data, nullptr, nullptr);
    if (!isTyped || actual != type) {
      throw ArgumentError{std::string(name_) + ": argument " + std::to_string(i) + " must be a " + what};
    }
    lengths_[i] = static_cast<int64_t>(length);
    return static_cast<T*>(data);
  }
  float* floats(size_t i) { return array<float>(i, napi_float32_array, "Float32Array"); }
  int32_t* ints(size_t i) { return array<int32_t>(i, napi_int32_array, "Int32Array"); }
  int64_t length(size_t i) const { return lengths_[i]; }

  double number(size_t i) {
    double value = 0;
    if (napi_get_value_double(env_, values_[i], &value) != napi_ok) {
      throw ArgumentError{std::string(name_) + ": argument " + std::to_string(i) + " must be a number"};
    }
    return value;
  }
  int64_t integer(size_t i) { return static_cast<int64_t>(number(i)); }
  bool boolean(size_t i) {
    bool value = false;
    napi_get_value_bool(env_, values_[i], &value);
    return value;
  }

 private:
  napi_env env_;
  const char* name_;
  size_t count_;
  napi_value values_[16];
  int64_t lengths_[16] = {0};
};

void require(bool condition, const char* name, const char* what) {
  if (!condition) throw ArgumentError{std::string(name) + ": " + what};
}

template <class F>
napi_value guarded(napi_env env, F body) {
  try {
    body();
  } catch (const ArgumentError& error) {
    napi_throw_type_error(env, nullptr, error.message.c_str());
  } catch (const std::exception& error) {
    napi_throw_error(env, nullptr, error.what());
  }
  return nullptr;
}

// matMul(a, b, out, m, k, n, transA, transB, aOffsets, bOffsets)
napi_value MatMul(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 10, "matMul");
    const float* a = args.floats(0);
    const float* b = args.floats(1);
    float* out = args.floats(2);
    const int64_t m = args.integer(3), k = args.integer(4), n = args.integer(5);
    const int32_t* aOffsets = args.ints(8);
    const int32_t* bOffsets = args.ints(9);
    const int64_t batch = args.length(8);
    require(args.length(9) == batch && args.length(2) == batch * m * n, "matMul",
            "output or offsets do not match the shapes");
    for (int64_t i = 0; i < batch; i++) {
      require(aOffsets[i] >= 0 && aOffsets[i] + m * k <= args.length(0), "matMul", "a is too short");
      require(bOffsets[i] >= 0 && bOffsets[i] + k * n <= args.length(1), "matMul", "b is too short");
    }
    mae::matMul(a, b, out, m, k, n, args.boolean(6), args.boolean(7), aOffsets, bOffsets, batch);
  });
}

int64_t extent(const int32_t* shape, const int32_t* strides, int rank) {
  int64_t last = 0;
  for (int d = 0; d < rank; d++) {
    if (shape[d] == 0) return 0;
    last += static_cast<int64_t>(shape[d] - 1) * strides[d];
  }
  return last + 1;
}

// binary(op, a, b, out, shape, aStrides, bStrides)
napi_value Binary(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 7, "binary");
    const float* a = args.floats(1);
    const float* b = args.floats(2);
    float* out = args.floats(3);
    const int32_t* shape = args.ints(4);
    const int32_t* aStrides = args.ints(5);
    const int32_t* bStrides = args.ints(6);
    const int rank = static_cast<int>(args.length(4));
    require(rank <= mae::kMaxRank && args.length(5) == rank && args.length(6) == rank, "binary", "bad rank");
    int64_t size = 1;
    for (int d = 0; d < rank; d++) size *= shape[d];
    require(args.length(3) == size, "binary", "output size does not match the shape");
    require(extent(shape, aStrides, rank) <= args.length(1) && extent(shape, bStrides, rank) <= args.length(2),
            "binary", "input too short");
    mae::binary(static_cast<mae::BinaryOp>(args.integer(0)), a, b, out, rank, shape, aStrides, bStrides);
  });
}

// unary(op, x, out)
napi_value Unary(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 3, "unary");
    const float* x = args.floats(1);
    float* out = args.floats(2);
    require(args.length(1) == args.length(2), "unary", "output size differs from input");
    mae::unary(static_cast<mae::UnaryOp>(args.integer(0)), x, out, args.length(1));
  });
}

// reduce(op, x, out, outer, reduced, inner)
napi_value Reduce(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 6, "reduce");
    const float* x = args.floats(1);
    float* out = args.floats(2);
    const int64_t outer = args.integer(3), reduced = args.integer(4), inner = args.integer(5);
    require(args.length(1) == outer * reduced * inner && args.length(2) == outer * inner, "reduce",
            "sizes do not match");
    mae::reduce(static_cast<mae::ReduceOp>(args.integer(0)), x, out, outer, reduced, inner);
  });
}

// softmax(x, out, rows, cols)
napi_value Softmax(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 4, "softmax");
    const float* x = args.floats(0);
    float* out = args.floats(1);
    const int64_t rows = args.integer(2), cols = args.integer(3);
    require(args.length(0) == rows * cols && args.length(1) == rows * cols, "softmax", "sizes do not match");
    mae::softmax(x, out, rows, cols);
  });
}

// softmaxGrad(dy, y, dx, rows, cols)
napi_value SoftmaxGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 5, "softmaxGrad");
    const float* dy = args.floats(0);
    const float* y = args.floats(1);
    float* dx = args.floats(2);
    const int64_t rows = args.integer(3), cols = args.integer(4);
    require(rows >= 0 && cols >= 0 && args.length(0) == rows * cols && args.length(1) == rows * cols &&
            args.length(2) == rows * cols,
            "softmaxGrad", "sizes do not match");
    mae::softmaxGrad(dy, y, dx, rows, cols);
  });
}

// stridedCopy(src, srcOffset, dst, dstOffset, shape, srcStrides, dstStrides)
napi_value StridedCopy(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 7, "stridedCopy");
    const float* src = args.floats(0);
    float* dst = args.floats(2);
    const int64_t srcOffset = args.integer(1), dstOffset = args.integer(3);
    const int32_t* shape = args.ints(4);
    const int32_t* srcStrides = args.ints(5);
    const int32_t* dstStrides = args.ints(6);
    const int rank = static_cast<int>(args.length(4));
    require(rank <= mae::kMaxRank && args.length(5) == rank && args.length(6) == rank, "stridedCopy", "bad rank");
    require(srcOffset >= 0 && srcOffset + extent(shape, srcStrides, rank) <= args.length(0), "stridedCopy",
            "source too short");
    require(dstOffset >= 0 && dstOffset + extent(shape, dstStrides, rank) <= args.length(2), "stridedCopy",
            "destination too short");
    mae::stridedCopy(src + srcOffset, dst + dstOffset, rank, shape, srcStrides, dstStrides);
  });
}

// gather(x, indices, out, outer, rows, inner)
napi_value Gather(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 6, "gather");
    const float* x = args.floats(0);
    const int32_t* indices = args.ints(1);
    float* out = args.floats(2);
    const int64_t outer = args.integer(3), rows = args.integer(4), inner = args.integer(5);
    const int64_t count = args.length(1);
    require(args.length(0) == outer * rows * inner && args.length(2) == outer * count * inner, "gather",
            "sizes do not match");
    require(mae::gather(x, indices, out, outer, rows, inner, count), "gather", "index out of range");
  });
}

// adamw(param, m, v, grad, outParam, outM, outV, beta1, 1-beta1, beta2, 1-beta2, sqrt(correction2), epsilon,
//       decayFactor (1 - lr·weightDecay, or 1 for no decay), lr / correction1)
napi_value AdamW(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 15, "adamw");
    float* arrays[7];
    for (size_t i = 0; i < 7; i++) arrays[i] = args.floats(i);
    const int64_t size = args.length(0);
    for (size_t i = 1; i < 7; i++) require(args.length(i) == size, "adamw", "sizes differ");
    mae::AdamWScalars k;
    k.beta1 = static_cast<float>(args.number(7));
    k.oneMinusBeta1 = static_cast<float>(args.number(8));
    k.beta2 = static_cast<float>(args.number(9));
    k.oneMinusBeta2 = static_cast<float>(args.number(10));
    k.rootCorrection2 = static_cast<float>(args.number(11));
    k.epsilon = static_cast<float>(args.number(12));
    const double decayFactor = args.number(13);
    k.decays = decayFactor != 1.0;
    k.decayFactor = static_cast<float>(decayFactor);
    k.stepSize = static_cast<float>(args.number(14));
    mae::adamw(arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5], arrays[6], size, k);
  });
}

// layerNorm(x, gamma, beta, y, mean, rstd, rows, cols, epsilon)
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 9, "layerNorm");
    float* arrays[6];
    for (size_t i = 0; i < 6; i++) arrays[i] = args.floats(i);
    const int64_t rows = args.integer(6), cols = args.integer(7);
    require(rows >= 0 && cols >= 0 && args.length(0) == rows * cols && args.length(3) == rows * cols, "layerNorm",
            "x or y does not match the shape");
    require(args.length(1) == cols && args.length(2) == cols, "layerNorm",
            "gamma and beta must have one value per column");
    require(args.length(4) == rows && args.length(5) == rows, "layerNorm", "mean and rstd must have one value per row");
    mae::layerNorm(arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5], rows, cols,
                   static_cast<float>(args.number(8)));
  });
}

// layerNormGrad(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols)
napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 10, "layerNormGrad");
    float* arrays[8];
    for (size_t i = 0; i < 8; i++) arrays[i] = args.floats(i);
    const int64_t rows = args.integer(8), cols = args.integer(9);
    require(rows >= 0 && cols >= 0 && args.length(0) == rows * cols && args.length(1) == rows * cols &&
            args.length(5) == rows * cols,
            "layerNormGrad", "dy, x or dx does not match the shape");
    require(args.length(2) == cols && args.length(6) == cols && args.length(7) == cols, "layerNormGrad",
            "gamma, dgamma and dbeta must have one value per column");
    require(args.length(3) == rows && args.length(4) == rows, "layerNormGrad",
            "mean and rstd must have one value per row");
    mae::layerNormGrad(arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5], arrays[6], arrays[7],
                       rows, cols);
  });
}

// linear(x, weight, bias, y, rows, in, out)
napi_value Linear(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 7, "linear");
    float* arrays[4];
    for (size_t i = 0; i < 4; i++) arrays[i] = args.floats(i);
    const int64_t rows = args.integer(4), in = args.integer(5), out = args.integer(6);
    require(rows >= 0 && in >= 0 && out >= 0, "linear", "negative size");
    require(args.length(0) == rows * in && args.length(1) == in * out && args.length(2) == out &&
            args.length(3) == rows * out,
            "linear", "arrays do not match the shapes");
    mae::linear(arrays[0], arrays[1], arrays[2], arrays[3], rows, in, out);
  });
}

// linearGrad(dy, x, weight, dx, dweight, dbias, rows, in, out)
napi_value LinearGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 9, "linearGrad");
    float* arrays[6];
    for (size_t i = 0; i < 6; i++) arrays[i] = args.floats(i);
    const int64_t rows = args.integer(6), in = args.integer(7), out = args.integer(8);
    require(rows >= 0 && in >= 0 && out >= 0, "linearGrad", "negative size");
    require(args.length(0) == rows * out && args.length(1) == rows * in && args.length(2) == in * out &&
                args.length(3) == rows * in && args.length(4) == in * out && args.length(5) == out,
            "linearGrad", "arrays do not match the shapes");
    mae::linearGrad(arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5], rows, in, out);
  });
}

// gelu(x, y)
napi_value Gelu(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 2, "gelu");
    const float* x = args.floats(0);
    float* y = args.floats(1);
    require(args.length(0) == args.length(1), "gelu", "output size differs from input");
    mae::gelu(x, y, args.length(0));
  });
}

// geluGrad(dy, x, dx)
napi_value GeluGrad(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 3, "geluGrad");
    const float* dy = args.floats(0);
    const float* x = args.floats(1);
    float* dx = args.floats(2);
    require(args.length(0) == args.length(1) && args.length(1) == args.length(2), "geluGrad", "sizes differ");
    mae::geluGrad(dy, x, dx, args.length(0));
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args args(env, info, 1, "setThreads");
    mae::setThreads(static_cast<int>(args.integer(0)));
  });
}

napi_value Threads(napi_env env, napi_callback_info) {
  napi_value result;
  napi_create_int32(env, mae::threadCount(), &result);
  return result;
}

// Which instruction set this build uses and what the CPU supports, so the loader can pick the
// AVX2 build where it runs.
napi_value Features(napi_env env, napi_callback_info) {
  napi_value result, value;
  napi_create_object(env, &result);
  bool cpuAvx2 = false;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  cpuAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#if defined(__AVX2__) && defined(__FMA__)
  const char* isa = "avx2+fma";
#elif defined(__aarch64__) || defined(_M_ARM64)
  const char* isa = "neon";
#else
  const char* isa = "baseline";
#endif
  napi_get_boolean(env, cpuAvx2, &value);
  napi_set_named_property(env, result, "cpuAvx2", value);
  napi_create_string_utf8(env, isa, NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, result, "isa", value);
  return result;
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor functions[] = {
      {"matMul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduce", nullptr, Reduce, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmaxGrad", nullptr, SoftmaxGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"stridedCopy", nullptr, StridedCopy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gather", nullptr, Gather, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamw", nullptr, AdamW, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"layerNorm", nullptr, LayerNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"layerNormGrad", nullptr, LayerNormGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"linear", nullptr, Linear, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"linearGrad", nullptr, LinearGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gelu", nullptr, Gelu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"geluGrad", nullptr, GeluGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"features", nullptr, Features, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  return exports;
}
