/**
 * GELU and softmax as WGSL programs for the webgpu backend (`MaeGelu`, `MaeGeluGrad`,
 * `MaeSoftmax`, `MaeSoftmaxGrad` of fused-ops.ts), with the math of `app/mae/ops.ts`'s
 * composite ops:
 *  - GELU y = x·Φ(x), dx = dy·(Φ(x) + x·φ(x)), Φ through TF.js's erf (Abramowitz–Stegun 7.1.26,
 *    the cpu backend's): one dispatch each way instead of ~6 and ~10;
 *  - softmax over the last axis: row max and row sum of exp (one thread per row), then
 *    y = exp(x − max) / sum; its gradient dx = dy·y − (Σ dy·y)·y from one row sum: two
 *    dispatches each way.
 */
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { GELU_GRAD_KERNEL, GELU_KERNEL, SOFTMAX_GRAD_KERNEL, SOFTMAX_KERNEL } from './fused-ops';
import type { DispatchHelpers } from './webgpu-kernels';
import { layout, program, requireFloat, requireShape, type KernelArgs } from './webgpu-program';

const { ERF_A1, ERF_A2, ERF_A3, ERF_A4, ERF_A5 } = backend_util;

/** Φ(z) in WGSL, with the erf polynomial of TF.js's cpu backend. */
const NORMAL_CDF = `
      let u = z * ${Math.SQRT1_2};
      let v = abs(u);
      let t = 1.0 / (1.0 + ${backend_util.ERF_P} * v);
      let erf = sign(u)
        * (1.0 - (((((${ERF_A5} * t + ${ERF_A4}) * t) + ${ERF_A3}) * t + ${ERF_A2}) * t + ${ERF_A1}) * t * exp(-v * v));
      let cdf = 0.5 * (1.0 + erf);`;

/** The `MaeGelu` kernel. */
export function gelu(helpers: DispatchHelpers) {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as WebGPUBackend;
    const { x } = args.inputs as Record<'x', TensorInfo>;
    requireFloat(GELU_KERNEL, { x });
    return backend.runWebGPUProgram(
      program(
        helpers,
        'maeGelu',
        ['x'],
        [...x.shape],
        `
      let z = x[index];${NORMAL_CDF}
      result[index] = z * cdf;`,
      ),
      [x],
      'float32',
      layout(x.shape).uniforms,
    );
  };
}

/** The `MaeGeluGrad` kernel. */
export function geluGrad(helpers: DispatchHelpers) {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as WebGPUBackend;
    const { dy, x } = args.inputs as Record<'dy' | 'x', TensorInfo>;
    requireFloat(GELU_GRAD_KERNEL, { dy, x });
    requireShape(GELU_GRAD_KERNEL, 'dy', dy.shape, x.shape);
    return backend.runWebGPUProgram(
      program(
        helpers,
        'maeGeluGrad',
        ['dy', 'x'],
        [...x.shape],
        `
      let z = x[index];${NORMAL_CDF}
      let pdf = exp(z * z * -0.5) * ${1 / Math.sqrt(2 * Math.PI)};
      result[index] = dy[index] * (cdf + z * pdf);`,
      ),
      [dy, x],
      'float32',
      layout(x.shape).uniforms,
    );
  };
}

/** The `MaeSoftmax` kernel. */
export function softmax(helpers: DispatchHelpers) {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as WebGPUBackend;
    const { logits } = args.inputs as Record<'logits', TensorInfo>;
    requireFloat(SOFTMAX_KERNEL, { logits });
    if (logits.shape.length === 0) throw new Error(`${SOFTMAX_KERNEL}: logits must have at least one axis`);
    const { rows, uniforms } = layout(logits.shape);
    // [rows, 2]: max and Σ exp(x − max) per row.
    const rowStats = backend.runWebGPUProgram(
      program(
        helpers,
        'maeSoftmaxRows',
        ['logits'],
        [rows, 2],
        `
      let row = index / 2;
      let start = row * uniforms.cols;
      var largest = logits[start];
      for (var j = 1; j < uniforms.cols; j++) { largest = max(largest, logits[start + j]); }
      if (index % 2 == 0) {
        result[index] = largest;
      } else {
        var total = 0.0;
        for (var j = 0; j < uniforms.cols; j++) { total += exp(logits[start + j] - largest); }
        result[index] = total;
      }`,
      ),
      [logits],
      'float32',
      uniforms,
    );
    const y = backend.runWebGPUProgram(
      program(
        helpers,
        'maeSoftmax',
        ['logits', 'rowStats'],
        [...logits.shape],
        `
      let row = index / uniforms.cols;
      result[index] = exp(logits[index] - rowStats[2 * row]) / rowStats[2 * row + 1];`,
      ),
      [logits, rowStats],
      'float32',
      uniforms,
    );
    backend.disposeData(rowStats.dataId);
    return y;
  };
}

/** The `MaeSoftmaxGrad` kernel. */
export function softmaxGrad(helpers: DispatchHelpers) {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as WebGPUBackend;
    const { dy, y } = args.inputs as Record<'dy' | 'y', TensorInfo>;
    requireFloat(SOFTMAX_GRAD_KERNEL, { dy, y });
    requireShape(SOFTMAX_GRAD_KERNEL, 'dy', dy.shape, y.shape);
    const { rows, uniforms } = layout(y.shape);
    const rowSums = backend.runWebGPUProgram(
      program(
        helpers,
        'maeSoftmaxGradRows',
        ['dy', 'y'],
        [rows],
        `
      var total = 0.0;
      for (var j = 0; j < uniforms.cols; j++) { total += dy[index * uniforms.cols + j] * y[index * uniforms.cols + j]; }
      result[index] = total;`,
      ),
      [dy, y],
      'float32',
      uniforms,
    );
    const dx = backend.runWebGPUProgram(
      program(
        helpers,
        'maeSoftmaxGrad',
        ['dy', 'y', 'rowSums'],
        [...y.shape],
        `
      let row = index / uniforms.cols;
      result[index] = dy[index] * y[index] - rowSums[row] * y[index];`,
      ),
      [dy, y, rowSums],
      'float32',
      uniforms,
    );
    backend.disposeData(rowSums.dataId);
    return dx;
  };
}
