/**
 * The fused linear layer for the webgpu backend (`MaeLinear`, `MaeLinearGrad` of fused-ops.ts):
 * y = x·W + b as one call of tfjs-backend-webgpu's own matmul with the bias added in its
 * epilogue (`_FusedMatMul`), instead of reshape, matMul and a broadcast add; its gradient as two
 * matmuls (dx = dy·Wᵀ, dW = xᵀ·dy) and a WGSL column sum (db = Σ_rows dy). The reshapes only
 * relabel the same buffers.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { LINEAR_GRAD_KERNEL, LINEAR_KERNEL } from './fused-ops';
import type { DispatchHelpers } from './webgpu-kernels';
import { layout, program, requireFloat, requireShape, type KernelArgs } from './webgpu-program';

/** One of tfjs-backend-webgpu's registered kernels, called directly. */
function backendKernel(name: string): KernelFunc {
  const config = tf.getKernel(name, 'webgpu');
  if (!config) throw new Error(`tfjs-backend-webgpu has no ${name} kernel`);
  return config.kernelFunc;
}

function reshape(backend: WebGPUBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return backendKernel('Reshape')({ inputs: { x }, backend, attrs: { shape } }) as TensorInfo;
}

function matMul(
  backend: WebGPUBackend,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias?: TensorInfo,
): TensorInfo {
  return bias
    ? (backendKernel('_FusedMatMul')({
        inputs: { a, b, bias },
        backend,
        attrs: { transposeA, transposeB, activation: 'linear', leakyreluAlpha: 0 },
      }) as TensorInfo)
    : (backendKernel('BatchMatMul')({ inputs: { a, b }, backend, attrs: { transposeA, transposeB } }) as TensorInfo);
}

/** Frees intermediate tensor infos (reshapes hold a reference to their input's buffer). */
function release(backend: WebGPUBackend, infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** x [..., in], weight [in, out] and the layout of x as [rows, in]. */
function shapes(kernel: string, x: TensorInfo, weight: TensorInfo): { rows: number; inDim: number; outDim: number } {
  if (x.shape.length === 0 || weight.shape.length !== 2)
    throw new Error(`${kernel}: x must have an axis and weight two, got [${x.shape}] and [${weight.shape}]`);
  const { rows, cols: inDim } = layout(x.shape);
  const outDim = weight.shape[1]!;
  requireShape(kernel, 'weight', weight.shape, [inDim, outDim]);
  return { rows, inDim, outDim };
}

/** The `MaeLinear` kernel. */
export function linear() {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as WebGPUBackend;
    const { x, weight, bias } = args.inputs as Record<'x' | 'weight' | 'bias', TensorInfo>;
    requireFloat(LINEAR_KERNEL, { x, weight, bias });
    const { rows, inDim, outDim } = shapes(LINEAR_KERNEL, x, weight);
    requireShape(LINEAR_KERNEL, 'bias', bias.shape, [outDim]);
    const x3 = reshape(backend, x, [1, rows, inDim]); // [1, rows, in]
    const w3 = reshape(backend, weight, [1, inDim, outDim]); // [1, in, out]
    const y3 = matMul(backend, x3, w3, false, false, bias); // [1, rows, out]
    const y = reshape(backend, y3, [...x.shape.slice(0, -1), outDim]); // [..., out]
    release(backend, [x3, w3, y3]);
    return y;
  };
}

/** The `MaeLinearGrad` kernel: dx, dweight, dbias. */
export function linearGrad(helpers: DispatchHelpers) {
  return (args: KernelArgs): TensorInfo[] => {
    const backend = args.backend as WebGPUBackend;
    const { dy, x, weight } = args.inputs as Record<'dy' | 'x' | 'weight', TensorInfo>;
    requireFloat(LINEAR_GRAD_KERNEL, { dy, x, weight });
    const { rows, inDim, outDim } = shapes(LINEAR_GRAD_KERNEL, x, weight);
    requireShape(LINEAR_GRAD_KERNEL, 'dy', dy.shape, [...x.shape.slice(0, -1), outDim]);
    const dy3 = reshape(backend, dy, [1, rows, outDim]);
    const x3 = reshape(backend, x, [1, rows, inDim]);
    const w3 = reshape(backend, weight, [1, inDim, outDim]);
    const dx3 = matMul(backend, dy3, w3, false, true); // [1, rows, in]
    const dw3 = matMul(backend, x3, dy3, true, false); // [1, in, out]
    const dx = reshape(backend, dx3, [...x.shape]);
    const dweight = reshape(backend, dw3, [inDim, outDim]);
    const dbias = backend.runWebGPUProgram(
      program(
        helpers,
        'maeLinearGradBias',
        ['dy'],
        [outDim],
        `
      var total = 0.0;
      for (var row = 0; row < uniforms.rows; row++) { total += dy[row * uniforms.cols + index]; }
      result[index] = total;`,
      ),
      [dy],
      'float32',
      layout([rows, outDim]).uniforms,
    );
    release(backend, [dy3, x3, w3, dx3, dw3]);
    return [dx, dweight, dbias];
  };
}
