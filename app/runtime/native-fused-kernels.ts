/**
 * The `native` backend's own kernels, which the cpu backend does not have: the fused AdamW
 * update (fused-adamw.ts) and the fused attention head split, softmax, linear layer, LayerNorm and GELU, forward and
 * backward (fused-ops.ts). There is no cpu kernel to fall back to, so they take float32 only and throw otherwise; the
 * ops that call them check their inputs first.
 */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { ADAMW_KERNEL, type FusedAdamWScalars } from './fused-adamw';
import {
  GELU_GRAD_KERNEL,
  GELU_KERNEL,
  LAYER_NORM_GRAD_KERNEL,
  LAYER_NORM_KERNEL,
  LINEAR_GRAD_KERNEL,
  LINEAR_KERNEL,
  MERGE_HEADS_KERNEL,
  SOFTMAX_GRAD_KERNEL,
  SOFTMAX_KERNEL,
  SPLIT_HEADS_KERNEL,
} from './fused-ops';
import type { NativeAddon } from './native-addon';
import { NativeBackend, outputArray } from './native-buffers';
import { floats, output, softmaxLastAxis } from './native-kernels';

/** The float32 values of each named input, or an error naming the kernel and the input. */
function inputValues<Name extends string>(
  kernel: string,
  backend: MathBackendCPU,
  inputs: Record<Name, TensorInfo>,
  names: readonly Name[],
): Float32Array[] {
  return names.map((name) => {
    const values = floats(backend, inputs[name]);
    if (!values) throw new Error(`${kernel}: ${name} must be a float32 tensor, got ${inputs[name].dtype}`);
    return values;
  });
}

function requireShape(kernel: string, what: string, shape: readonly number[], expected: readonly number[]): void {
  if (!util.arraysEqual([...shape], [...expected]))
    throw new Error(`${kernel}: ${what} has shape [${shape}], expected [${expected}]`);
}

/** Rows and columns of `shape` seen as [rows, last axis]. */
function rowsAndColumns(shape: readonly number[]): [number, number] {
  return [util.sizeFromShape(shape.slice(0, -1)), shape.at(-1) ?? 1];
}

/**
 * AdamW's new parameter and moments, each written in place over the old one where nothing else
 * can see it (`NativeBackend.exclusiveValues`: the optimizer's variables after their first step),
 * else into a new array. An in-place output is the input's own data entry, as Identity returns.
 */
function adamW(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'param' | 'm' | 'v' | 'grad', TensorInfo>;
    const { lr, beta1, beta2, epsilon, weightDecay, correction1, correction2 } =
      args.attrs as unknown as FusedAdamWScalars;
    const [param, m, v, grad] = inputValues(ADAMW_KERNEL, backend, inputs, ['param', 'm', 'v', 'grad']) as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    if (!util.arraysEqual(inputs.param.shape, inputs.grad.shape))
      throw new Error(
        `${ADAMW_KERNEL}: gradient shape ${inputs.grad.shape} differs from parameter ${inputs.param.shape}`,
      );
    if (m.length !== param.length || v.length !== param.length)
      throw new Error(
        `${ADAMW_KERNEL}: moments of ${m.length} and ${v.length} values for a parameter of ${param.length}`,
      );
    const targets = [inputs.param, inputs.m, inputs.v].map((t) => {
      const inPlace = backend instanceof NativeBackend ? backend.exclusiveValues(t) : null;
      return { t, inPlace, values: inPlace ?? outputArray(backend, param.length) };
    });
    const [outParam, outM, outV] = targets.map((target) => target.values) as [Float32Array, Float32Array, Float32Array];
    // Scalars rounded to float32 from the same doubles as the composite ops' tf.scalar()s.
    addon.adamw(
      param,
      m,
      v,
      grad,
      outParam,
      outM,
      outV,
      beta1,
      1 - beta1,
      beta2,
      1 - beta2,
      Math.sqrt(correction2),
      epsilon,
      weightDecay > 0 ? 1 - lr * weightDecay : 1,
      lr / correction1,
    );
    return targets.map(({ t, inPlace, values }) => {
      if (!inPlace) return output(backend, [...inputs.param.shape], values);
      backend.incRef(t.dataId);
      return { dataId: t.dataId, shape: [...t.shape], dtype: t.dtype };
    });
  };
}

/**
 * Strides, in qkv [B, N, 3, heads, headDim], of the axes of one head tensor [B, heads, N, headDim]
 * (`strides`), the same axes' strides in a dense head tensor (`dense`), and the offset between
 * parts (0 q, 1 k, 2 v).
 */
function headStrides(
  tokens: number,
  numHeads: number,
  headDim: number,
): { strides: Int32Array; dense: Int32Array; partOffset: number } {
  const width = 3 * numHeads * headDim;
  return {
    strides: Int32Array.of(tokens * width, headDim, width, 1),
    dense: Int32Array.of(numHeads * tokens * headDim, tokens * headDim, headDim, 1),
    partOffset: numHeads * headDim,
  };
}

function splitHeads(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'qkv', TensorInfo>;
    const { numHeads } = args.attrs as { numHeads: number };
    const [qkv] = inputValues(SPLIT_HEADS_KERNEL, backend, inputs, ['qkv']) as [Float32Array];
    const [batch, tokens, width] = inputs.qkv.shape as [number, number, number];
    if (inputs.qkv.shape.length !== 3 || width % (3 * numHeads) !== 0)
      throw new Error(`${SPLIT_HEADS_KERNEL}: qkv [${inputs.qkv.shape}] is not [B, N, 3·${numHeads}·headDim]`);
    const headDim = width / (3 * numHeads);
    const shape = [batch, numHeads, tokens, headDim];
    const { strides, dense, partOffset } = headStrides(tokens, numHeads, headDim);
    return [0, 1, 2].map((part) => {
      const out = outputArray(backend, qkv.length / 3);
      if (out.length > 0) addon.stridedCopy(qkv, part * partOffset, out, 0, Int32Array.from(shape), strides, dense);
      return output(backend, [...shape], out);
    });
  };
}

function mergeHeads(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'dq' | 'dk' | 'dv', TensorInfo>;
    const parts = inputValues(MERGE_HEADS_KERNEL, backend, inputs, ['dq', 'dk', 'dv']);
    const shape = inputs.dq.shape as [number, number, number, number];
    if (shape.length !== 4) throw new Error(`${MERGE_HEADS_KERNEL}: dq must be [B, heads, N, headDim], got [${shape}]`);
    requireShape(MERGE_HEADS_KERNEL, 'dk', inputs.dk.shape, shape);
    requireShape(MERGE_HEADS_KERNEL, 'dv', inputs.dv.shape, shape);
    const [batch, numHeads, tokens, headDim] = shape;
    const { strides, dense, partOffset } = headStrides(tokens, numHeads, headDim);
    const out = outputArray(backend, 3 * parts[0]!.length);
    if (out.length > 0)
      parts.forEach((values, part) =>
        addon.stridedCopy(values, 0, out, part * partOffset, Int32Array.from(shape), dense, strides),
      );
    return output(backend, [batch, tokens, 3 * numHeads * headDim], out);
  };
}

function softmax(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'logits', TensorInfo>;
    const [logits] = inputValues(SOFTMAX_KERNEL, backend, inputs, ['logits']) as [Float32Array];
    if (inputs.logits.shape.length === 0) throw new Error(`${SOFTMAX_KERNEL}: logits must have at least one axis`);
    return softmaxLastAxis(addon, backend, logits, inputs.logits.shape);
  };
}

function softmaxGrad(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'dy' | 'y', TensorInfo>;
    const [dy, y] = inputValues(SOFTMAX_GRAD_KERNEL, backend, inputs, ['dy', 'y']) as [Float32Array, Float32Array];
    requireShape(SOFTMAX_GRAD_KERNEL, 'dy', inputs.dy.shape, inputs.y.shape);
    const [rows, cols] = rowsAndColumns(inputs.y.shape);
    const dx = outputArray(backend, y.length);
    addon.softmaxGrad(dy, y, dx, rows, cols);
    return output(backend, [...inputs.y.shape], dx);
  };
}

function linear(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'x' | 'weight' | 'bias', TensorInfo>;
    const [x, weight, bias] = inputValues(LINEAR_KERNEL, backend, inputs, ['x', 'weight', 'bias']) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    if (inputs.x.shape.length === 0 || inputs.weight.shape.length !== 2)
      throw new Error(
        `${LINEAR_KERNEL}: x must have an axis and weight two, got [${inputs.x.shape}] and [${inputs.weight.shape}]`,
      );
    const [rows, inDim] = rowsAndColumns(inputs.x.shape);
    const outDim = inputs.weight.shape[1]!;
    requireShape(LINEAR_KERNEL, 'weight', inputs.weight.shape, [inDim, outDim]);
    requireShape(LINEAR_KERNEL, 'bias', inputs.bias.shape, [outDim]);
    const y = outputArray(backend, rows * outDim);
    addon.linear(x, weight, bias, y, rows, inDim, outDim);
    return output(backend, [...inputs.x.shape.slice(0, -1), outDim], y);
  };
}

function linearGrad(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'dy' | 'x' | 'weight', TensorInfo>;
    const [dy, x, weight] = inputValues(LINEAR_GRAD_KERNEL, backend, inputs, ['dy', 'x', 'weight']) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const [rows, inDim] = rowsAndColumns(inputs.x.shape);
    const outDim = inputs.weight.shape[1] ?? 0;
    requireShape(LINEAR_GRAD_KERNEL, 'weight', inputs.weight.shape, [inDim, outDim]);
    requireShape(LINEAR_GRAD_KERNEL, 'dy', inputs.dy.shape, [...inputs.x.shape.slice(0, -1), outDim]);
    const dx = outputArray(backend, x.length);
    const dweight = outputArray(backend, weight.length);
    const dbias = outputArray(backend, outDim);
    addon.linearGrad(dy, x, weight, dx, dweight, dbias, rows, inDim, outDim);
    return [
      output(backend, [...inputs.x.shape], dx),
      output(backend, [inDim, outDim], dweight),
      output(backend, [outDim], dbias),
    ];
  };
}

function layerNorm(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'x' | 'gamma' | 'beta', TensorInfo>;
    const { epsilon } = args.attrs as { epsilon: number };
    const [x, gamma, beta] = inputValues(LAYER_NORM_KERNEL, backend, inputs, ['x', 'gamma', 'beta']) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    if (inputs.x.shape.length === 0) throw new Error(`${LAYER_NORM_KERNEL}: x must have at least one axis`);
    const [rows, cols] = rowsAndColumns(inputs.x.shape);
    requireShape(LAYER_NORM_KERNEL, 'gamma', inputs.gamma.shape, [cols]);
    requireShape(LAYER_NORM_KERNEL, 'beta', inputs.beta.shape, [cols]);
    const y = outputArray(backend, x.length);
    const mean = outputArray(backend, rows);
    const rstd = outputArray(backend, rows);
    addon.layerNorm(x, gamma, beta, y, mean, rstd, rows, cols, epsilon);
    const rowShape = [...inputs.x.shape.slice(0, -1), 1]; // [..., 1], as tf.moments with keepDims
    return [
      output(backend, [...inputs.x.shape], y),
      output(backend, rowShape, mean),
      output(backend, [...rowShape], rstd),
    ];
  };
}

function layerNormGrad(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'dy' | 'x' | 'gamma' | 'mean' | 'rstd', TensorInfo>;
    const [dy, x, gamma, mean, rstd] = inputValues(LAYER_NORM_GRAD_KERNEL, backend, inputs, [
      'dy',
      'x',
      'gamma',
      'mean',
      'rstd',
    ]) as Float32Array[];
    const [rows, cols] = rowsAndColumns(inputs.x.shape);
    requireShape(LAYER_NORM_GRAD_KERNEL, 'dy', inputs.dy.shape, inputs.x.shape);
    requireShape(LAYER_NORM_GRAD_KERNEL, 'gamma', inputs.gamma.shape, [cols]);
    if (mean!.length !== rows || rstd!.length !== rows)
      throw new Error(`${LAYER_NORM_GRAD_KERNEL}: mean and rstd need one value per row (${rows})`);
    const dx = outputArray(backend, x!.length);
    const dgamma = outputArray(backend, cols);
    const dbeta = outputArray(backend, cols);
    addon.layerNormGrad(dy!, x!, gamma!, mean!, rstd!, dx, dgamma, dbeta, rows, cols);
    return [output(backend, [...inputs.x.shape], dx), output(backend, [cols], dgamma), output(backend, [cols], dbeta)];
  };
}

function gelu(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'x', TensorInfo>;
    const [x] = inputValues(GELU_KERNEL, backend, inputs, ['x']) as [Float32Array];
    const y = outputArray(backend, x.length);
    addon.gelu(x, y);
    return output(backend, [...inputs.x.shape], y);
  };
}

function geluGrad(addon: NativeAddon): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as Record<'dy' | 'x', TensorInfo>;
    const [dy, x] = inputValues(GELU_GRAD_KERNEL, backend, inputs, ['dy', 'x']) as [Float32Array, Float32Array];
    requireShape(GELU_GRAD_KERNEL, 'dy', inputs.dy.shape, inputs.x.shape);
    const dx = outputArray(backend, x.length);
    addon.geluGrad(dy, x, dx);
    return output(backend, [...inputs.x.shape], dx);
  };
}

/** The native backend's own kernels by name. */
export function nativeOnlyKernels(addon: NativeAddon): Map<string, KernelFunc> {
  return new Map<string, KernelFunc>([
    [ADAMW_KERNEL, adamW(addon)],
    [SPLIT_HEADS_KERNEL, splitHeads(addon)],
    [MERGE_HEADS_KERNEL, mergeHeads(addon)],
    [SOFTMAX_KERNEL, softmax(addon)],
    [SOFTMAX_GRAD_KERNEL, softmaxGrad(addon)],
    [LINEAR_KERNEL, linear(addon)],
    [LINEAR_GRAD_KERNEL, linearGrad(addon)],
    [LAYER_NORM_KERNEL, layerNorm(addon)],
    [LAYER_NORM_GRAD_KERNEL, layerNormGrad(addon)],
    [GELU_KERNEL, gelu(addon)],
    [GELU_GRAD_KERNEL, geluGrad(addon)],
  ]);
}
