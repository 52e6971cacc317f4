/**
 * LayerNorm over the last axis as WGSL programs for the webgpu backend (the `MaeLayerNorm` and
 * `MaeLayerNormGrad` kernels of fused-ops.ts). Rows are reduced one thread per row, in column
 * order, as the cpu backend sums; columns (dγ, dβ) one thread per column, in row order.
 * Forward: mean, 1/σ = rsqrt(mean((x − mean)²) + ε), y = (x − mean)·(1/σ)·γ + β.
 * Backward, with g = dy·γ and x̂ = (x − mean)·(1/σ):
 *   dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)),  dγ = Σ_rows dy·x̂,  dβ = Σ_rows dy.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { LAYER_NORM_GRAD_KERNEL, LAYER_NORM_KERNEL } from './fused-ops';
import type { DispatchHelpers } from './webgpu-kernels';
import { layout, program, requireFloat, requireShape, type KernelArgs } from './webgpu-program';

/** The `MaeLayerNorm` kernel: y, mean and 1/σ (the last two [..., 1], as tf.moments with keepDims). */
export function layerNorm(helpers: DispatchHelpers) {
  return (args: KernelArgs): TensorInfo[] => {
    const backend = args.backend as WebGPUBackend;
    const { x, gamma, beta } = args.inputs as Record<'x' | 'gamma' | 'beta', TensorInfo>;
    requireFloat(LAYER_NORM_KERNEL, { x, gamma, beta });
    if (x.shape.length === 0) throw new Error(`${LAYER_NORM_KERNEL}: x must have at least one axis`);
    const { cols, uniforms } = layout(x.shape, (args.attrs as { epsilon: number }).epsilon);
    requireShape(LAYER_NORM_KERNEL, 'gamma', gamma.shape, [cols]);
    requireShape(LAYER_NORM_KERNEL, 'beta', beta.shape, [cols]);
    const rowShape = [...x.shape.slice(0, -1), 1];
    const mean = backend.runWebGPUProgram(
      program(
        helpers,
        'maeLayerNormMean',
        ['x'],
        rowShape,
        `
      var total = 0.0;
      for (var j = 0; j < uniforms.cols; j++) { total += x[index * uniforms.cols + j]; }
      result[index] = total / f32(uniforms.cols);`,
      ),
      [x],
      'float32',
      uniforms,
    );
    const rstd = backend.runWebGPUProgram(
      program(
        helpers,
        'maeLayerNormRstd',
        ['x', 'mean'],
        rowShape,
        `
      let m = mean[index];
      var total = 0.0;
      for (var j = 0; j < uniforms.cols; j++) {
        let centred = x[index * uniforms.cols + j] - m;
        total += centred * centred;
      }
      result[index] = inverseSqrt(total / f32(uniforms.cols) + uniforms.epsilon);`,
      ),
      [x, mean],
      'float32',
      uniforms,
    );
    const y = backend.runWebGPUProgram(
      program(
        helpers,
        'maeLayerNormY',
        ['x', 'mean', 'rstd', 'gamma', 'beta'],
        [...x.shape],
        `
      let row = index / uniforms.cols;
      let col = index % uniforms.cols;
      result[index] = (x[index] - mean[row]) * rstd[row] * gamma[col] + beta[col];`,
      ),
      [x, mean, rstd, gamma, beta],
      'float32',
      uniforms,
    );
    return [y, mean, rstd];
  };
}

/** The `MaeLayerNormGrad` kernel: dx, dγ and dβ from dy, x, γ and the forward's mean and 1/σ. */
export function layerNormGrad(helpers: DispatchHelpers) {
  return (args: KernelArgs): TensorInfo[] => {
    const backend = args.backend as WebGPUBackend;
    const { dy, x, gamma, mean, rstd } = args.inputs as Record<'dy' | 'x' | 'gamma' | 'mean' | 'rstd', TensorInfo>;
    requireFloat(LAYER_NORM_GRAD_KERNEL, { dy, x, gamma, mean, rstd });
    const { rows, cols, uniforms } = layout(x.shape);
    requireShape(LAYER_NORM_GRAD_KERNEL, 'dy', dy.shape, x.shape);
    requireShape(LAYER_NORM_GRAD_KERNEL, 'gamma', gamma.shape, [cols]);
    if (tf.util.sizeFromShape(mean.shape) !== rows || tf.util.sizeFromShape(rstd.shape) !== rows)
      throw new Error(`${LAYER_NORM_GRAD_KERNEL}: mean and rstd need one value per row (${rows})`);
    const xHat = 'let xHat = (x[row * uniforms.cols + col] - mean[row]) * rstd[row];';
    // [rows, 2]: mean(g) and mean(g·x̂) per row.
    const rowSums = backend.runWebGPUProgram(
      program(
        helpers,
        'maeLayerNormGradRows',
        ['dy', 'x', 'gamma', 'mean', 'rstd'],
        [rows, 2],
        `
      let row = index / 2;
      let withXHat = index % 2 == 1;
      var total = 0.0;
      for (var col = 0; col < uniforms.cols; col++) {
        let g = dy[row * uniforms.cols + col] * gamma[col];
        ${xHat}
        total += select(g, g * xHat, withXHat);
      }
      result[index] = total / f32(uniforms.cols);`,
      ),
      [dy, x, gamma, mean, rstd],
      'float32',
      uniforms,
    );
    const dx = backend.runWebGPUProgram(
      program(
        helpers,
        'maeLayerNormGradX',
        ['dy', 'x', 'gamma', 'mean', 'rstd', 'rowSums'],
        [...x.shape],
        `
      let row = index / uniforms.cols;
      let col = index % uniforms.cols;
      ${xHat}
      let g = dy[index] * gamma[col];
      result[index] = rstd[row] * ((g - rowSums[2 * row]) - xHat * rowSums[2 * row + 1]);`,
      ),
      [dy, x, gamma, mean, rstd, rowSums],
      'float32',
      uniforms,
    );
    const columnSum = (name: string, term: string, variableNames: string[], inputs: TensorInfo[]): TensorInfo =>
      backend.runWebGPUProgram(
        program(
          helpers,
          name,
          variableNames,
          [cols],
          `
        let col = index;
        var total = 0.0;
        for (var row = 0; row < uniforms.rows; row++) {
          ${term}
        }
        result[index] = total;`,
        ),
        inputs,
        'float32',
        uniforms,
      );
    const dgamma = columnSum(
      'maeLayerNormGradGamma',
      `${xHat}\n          total += dy[row * uniforms.cols + col] * xHat;`,
      ['dy', 'x', 'mean', 'rstd'],
      [dy, x, mean, rstd],
    );
    const dbeta = columnSum('maeLayerNormGradBeta', 'total += dy[row * uniforms.cols + col];', ['dy'], [dy]);
    backend.disposeData(rowSums.dataId);
    return [dx, dgamma, dbeta];
  };
}
