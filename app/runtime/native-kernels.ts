/**
 * The TF.js kernels the `native` backend runs in C++ (native/src): the ones that dominate an
 * MAE step on the plain `cpu` backend (measured with bench/kernels.ts). Each takes dense
 * float32 inputs; any other dtype, or a case the addon does not cover, goes to the `cpu`
 * kernel of the same name, so the backend is always complete. Shapes, broadcasting and
 * strides are worked out here; the addon only loops.
 */
import {
  backend_util,
  slice_util,
  util,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './native-addon';
import { outputArray } from './native-buffers';
import { batchOffsets, broadcastShape, broadcastStrides, collapse, stridesOf } from './native-shapes';

type KernelArgs = Parameters<KernelFunc>[0];
type Fallback = (args: KernelArgs) => TensorInfo | TensorInfo[];

const BINARY = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 } as const;
const UNARY = {
  Exp: 0,
  Erf: 1,
  Sqrt: 2,
  Rsqrt: 3,
  Square: 4,
  Neg: 5,
  Reciprocal: 6,
  Log: 7,
  Abs: 8,
  Relu: 9,
  Tanh: 10,
  Sigmoid: 11,
} as const;
const REDUCE = { Sum: 0, Mean: 1, Max: 2, Min: 3 } as const;
/** The most axes the addon's strided loops take (kMaxRank in native/src/kernels.h), after merging. */
const MAX_RANK = 8;

/** Names of the kernels the native backend implements itself (the rest are the cpu backend's). */
export const NATIVE_KERNEL_NAMES: readonly string[] = [
  'BatchMatMul',
  '_FusedMatMul',
  ...Object.keys(BINARY),
  ...Object.keys(UNARY),
  ...Object.keys(REDUCE),
  'Softmax',
  'Transpose',
  'Slice',
  'SplitV',
  'Concat',
  'PadV2',
  'GatherV2',
];

/** The float32 values of `t`, or null when it is not float32 (then a kernel falls back to cpu). */
export function floats(backend: MathBackendCPU, t: TensorInfo): Float32Array | null {
  const values = backend.data.get(t.dataId)?.values;
  return t.dtype === 'float32' && values instanceof Float32Array ? values : null;
}

/** A tensor of `shape` on `backend` holding `values` (a kernel's output). */
export function output(backend: MathBackendCPU, shape: number[], values: Float32Array): TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

const i32 = (values: readonly number[]): Int32Array => Int32Array.from(values);

function binaryKernel(addon: NativeAddon, op: number, fallback: Fallback): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const aValues = floats(backend, a);
    const bValues = floats(backend, b);
    if (!aValues || !bValues) return fallback(args);
    const outShape = broadcastShape(a.shape, b.shape);
    const flat = collapse(outShape, broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape));
    if (flat.shape.length > MAX_RANK) return fallback(args);
    const out = outputArray(backend, util.sizeFromShape(outShape));
    addon.binary(op, aValues, bValues, out, i32(flat.shape), i32(flat.strides[0]!), i32(flat.strides[1]!));
    return output(backend, outShape, out);
  };
}

function unaryKernel(addon: NativeAddon, op: number, fallback: Fallback): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const { x } = args.inputs as { x: TensorInfo };
    const values = floats(backend, x);
    if (!values) return fallback(args);
    const out = outputArray(backend, values.length);
    addon.unary(op, values, out);
    return output(backend, [...x.shape], out);
  };
}

function reduceKernel(addon: NativeAddon, op: number, fallback: Fallback): KernelFunc {
  return (args) => {
    const backend = args.backend as MathBackendCPU;
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = args.attrs as NamedAttrMap;
    const values = floats(backend, x);
    if (!values) return fallback(args);
    const axes = util
      .parseAxisParam((attrs.axis ?? attrs.reductionIndices) as number | number[], x.shape)
      .sort((p, q) => p - q);
    const contiguous = axes.every((axis, i) => i === 0 || axis === axes[i - 1]! + 1);
    if (!contiguous || (op >= REDUCE.Max && axes.some((axis) => x.shape[axis] === 0))) return fallback(args);
    const first = axes[0] ?? x.shape.length;
    const last = axes.at(-1) ?? first - 1;
    const outer = util.sizeFromShape(x.shape.slice(0, first));
    const reduced = util.sizeFromShape(x.shape.slice(first, last + 1));
    const inner = util.sizeFromShape(x.shape.slice(last + 1));
    const out = outputArray(backend, outer * inner);
    addon.reduce(op, values, out, outer, reduced, inner);
    const outShape = attrs.keepDims
      ? x.shape.map((size, d) => (axes.includes(d) ? 1 : size))
      : x.shape.filter((_, d) => !axes.includes(d));
    return output(backend, outShape, out);
  };
}

function matMul(
  addon: NativeAddon,
  backend: MathBackendCPU,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): TensorInfo | null {
  const aValues = floats(backend, a);
  const bValues = floats(backend, b);
  if (!aValues || !bValues) return null;
  const m = transposeA ? a.shape.at(-1)! : a.shape.at(-2)!;
  const k = transposeA ? a.shape.at(-2)! : a.shape.at(-1)!;
  const kB = transposeB ? b.shape.at(-1)! : b.shape.at(-2)!;
  const n = transposeB ? b.shape.at(-2)! : b.shape.at(-1)!;
  if (k !== kB)
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} ` +
        `and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  const outBatch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = outputArray(backend, util.sizeFromShape(outBatch) * m * n);
  addon.matMul(
    aValues,
    bValues,
    out,
    m,
    k,
    n,
    transposeA,
    transposeB,
    batchOffsets(a.shape.slice(0, -2), outBatch, m * k),
    batchOffsets(b.shape.slice(0, -2), outBatch, k * n),
  );
  return output(backend, [...outBatch, m, n], out);
}

/**
 * Copies from `values` into a new tensor of `outShape`, reading output axis d with source stride
 * `sourceStrides[d]`; null when the copy has more than MAX_RANK axes left after merging.
 */
function copyOut(
  addon: NativeAddon,
  backend: MathBackendCPU,
  values: Float32Array,
  offset: number,
  outShape: number[],
  sourceStrides: number[],
): TensorInfo | null {
  const size = util.sizeFromShape(outShape);
  const flat = size > 0 ? collapse(outShape, sourceStrides, stridesOf(outShape)) : null;
  if (flat && flat.shape.length > MAX_RANK) return null;
  const out = outputArray(backend, size);
  if (flat) addon.stridedCopy(values, offset, out, 0, i32(flat.shape), i32(flat.strides[0]!), i32(flat.strides[1]!));
  return output(backend, outShape, out);
}

/** Softmax over the last axis of `values`, of `shape` (at least one axis), into a new output. */
export function softmaxLastAxis(
  addon: NativeAddon,
  backend: MathBackendCPU,
  values: Float32Array,
  shape: readonly number[],
): TensorInfo {
  const cols = shape.at(-1)!;
  const out = outputArray(backend, values.length);
  addon.softmax(values, out, cols === 0 ? 0 : values.length / cols, cols);
  return output(backend, [...shape], out);
}

function slice(
  addon: NativeAddon,
  backend: MathBackendCPU,
  x: TensorInfo,
  values: Float32Array,
  begin: number[],
  size: number[],
): TensorInfo | null {
  const strides = stridesOf(x.shape);
  const offset = begin.reduce((total, start, d) => total + start * strides[d]!, 0);
  return copyOut(addon, backend, values, offset, size, strides);
}

/** The native kernels by name, each falling back to `cpuKernels` (the cpu backend's) when needed. */
export function nativeKernels(addon: NativeAddon, cpuKernels: Map<string, KernelFunc>): Map<string, KernelFunc> {
  const fallback = (name: string): Fallback => {
    const kernel = cpuKernels.get(name);
    if (!kernel) throw new Error(`native backend: the cpu backend has no ${name} kernel to fall back to`);
    return kernel as Fallback;
  };
  const kernels = new Map<string, KernelFunc>();
  for (const [name, op] of Object.entries(BINARY)) kernels.set(name, binaryKernel(addon, op, fallback(name)));
  for (const [name, op] of Object.entries(UNARY)) kernels.set(name, unaryKernel(addon, op, fallback(name)));
  for (const [name, op] of Object.entries(REDUCE)) kernels.set(name, reduceKernel(addon, op, fallback(name)));

  kernels.set('BatchMatMul', (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    return matMul(addon, args.backend as MathBackendCPU, a, b, transposeA, transposeB) ?? fallback('BatchMatMul')(args);
  });
  kernels.set('_FusedMatMul', (args) => {
    const backend = args.backend as MathBackendCPU;
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const { transposeA, transposeB, activation } = args.attrs as {
      transposeA: boolean;
      transposeB: boolean;
      activation?: string;
    };
    if ((activation && activation !== 'linear') || preluActivationWeights) return fallback('_FusedMatMul')(args);
    const product = matMul(addon, backend, a!, b!, transposeA, transposeB);
    if (!product || !bias) return product ?? fallback('_FusedMatMul')(args);
    const sum = kernels.get('Add')!({ inputs: { a: product, b: bias }, backend, attrs: {} }) as TensorInfo;
    backend.disposeIntermediateTensorInfo(product);
    return sum;
  });
  kernels.set('Softmax', (args) => {
    const backend = args.backend as MathBackendCPU;
    const { logits } = args.inputs as { logits: TensorInfo };
    const { dim } = args.attrs as { dim: number };
    const values = floats(backend, logits);
    const rank = logits.shape.length;
    if (!values || rank === 0 || (dim !== -1 && dim !== rank - 1)) return fallback('Softmax')(args);
    return softmaxLastAxis(addon, backend, values, logits.shape);
  });
  kernels.set('Transpose', (args) => {
    const backend = args.backend as MathBackendCPU;
    const { x } = args.inputs as { x: TensorInfo };
    const { perm } = args.attrs as { perm: number[] };
    const values = floats(backend, x);
    if (!values) return fallback('Transpose')(args);
    const strides = stridesOf(x.shape);
    return (
      copyOut(
        addon,
        backend,
        values,
        0,
        perm.map((axis) => x.shape[axis]!),
        perm.map((axis) => strides[axis]!),
      ) ?? fallback('Transpose')(args)
    );
  });
  kernels.set('Slice', (args) => {
    const backend = args.backend as MathBackendCPU;
    const { x } = args.inputs as { x: TensorInfo };
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    const values = floats(backend, x);
    if (!values) return fallback('Slice')(args);
    const [begins, sizes] = slice_util.parseSliceParams(x, begin, size) as [number[], number[]];
    slice_util.assertParamsValid(x, begins, sizes);
    return slice(addon, backend, x, values, begins, sizes) ?? fallback('Slice')(args);
  });
  kernels.set('SplitV', (args) => {
    const backend = args.backend as MathBackendCPU;
    const { x } = args.inputs as { x: TensorInfo };
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    const values = floats(backend, x);
    if (!values) return fallback('SplitV')(args);
    const splitAxis = util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = backend_util.prepareSplitSize(x, numOrSizeSplits, splitAxis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((size) => {
      const shape = [...x.shape];
      shape[splitAxis] = size;
      // merges to 2 axes: those before the split axis, and the rest
      const piece = slice(addon, backend, x, values, [...begin], shape)!;
      begin[splitAxis]! += size;
      return piece;
    });
  });
  kernels.set('Concat', (args) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as unknown as TensorInfo[];
    const { axis } = args.attrs as { axis: number };
    const all = inputs.map((t) => floats(backend, t));
    if (inputs.length === 0 || all.some((values) => !values)) return fallback('Concat')(args);
    const concatAxis = util.parseAxisParam(axis, inputs[0]!.shape)[0]!;
    backend_util.assertParamsConsistent(
      inputs.map((t) => t.shape),
      concatAxis,
    );
    const outShape = backend_util.computeOutShape(
      inputs.map((t) => t.shape),
      concatAxis,
    );
    const outStrides = stridesOf(outShape);
    const out = outputArray(backend, util.sizeFromShape(outShape));
    let position = 0;
    inputs.forEach((t, i) => {
      if (util.sizeFromShape(t.shape) > 0) {
        // 2 axes at most: before the concat axis, and the rest
        const flat = collapse(t.shape, stridesOf(t.shape), outStrides);
        addon.stridedCopy(
          all[i]!,
          0,
          out,
          position * outStrides[concatAxis]!,
          i32(flat.shape),
          i32(flat.strides[0]!),
          i32(flat.strides[1]!),
        );
      }
      position += t.shape[concatAxis]!;
    });
    return output(backend, outShape, out);
  });
  kernels.set('PadV2', (args) => {
    const backend = args.backend as MathBackendCPU;
    const { x } = args.inputs as { x: TensorInfo };
    const { paddings, constantValue } = args.attrs as { paddings: Array<[number, number]>; constantValue: number };
    const values = floats(backend, x);
    if (!values) return fallback('PadV2')(args);
    const outShape = x.shape.map((size, d) => paddings[d]![0] + size + paddings[d]![1]);
    const outStrides = stridesOf(outShape);
    const flat = collapse(x.shape, stridesOf(x.shape), outStrides);
    if (flat.shape.length > MAX_RANK) return fallback('PadV2')(args);
    const out = outputArray(backend, util.sizeFromShape(outShape)).fill(constantValue);
    if (values.length > 0) {
      const offset = paddings.reduce((total, [before], d) => total + before * outStrides[d]!, 0);
      addon.stridedCopy(values, 0, out, offset, i32(flat.shape), i32(flat.strides[0]!), i32(flat.strides[1]!));
    }
    return output(backend, outShape, out);
  });
  kernels.set('GatherV2', (args) => {
    const backend = args.backend as MathBackendCPU;
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
    const values = floats(backend, x);
    const indexValues = backend.data.get(indices.dataId)?.values;
    if (!values || batchDims !== 0 || !(indexValues instanceof Int32Array)) return fallback('GatherV2')(args);
    const gatherAxis = util.parseAxisParam(axis, x.shape)[0]!;
    const outShape = [...x.shape.slice(0, gatherAxis), ...indices.shape, ...x.shape.slice(gatherAxis + 1)];
    const out = outputArray(backend, util.sizeFromShape(outShape));
    addon.gather(
      values,
      indexValues,
      out,
      util.sizeFromShape(x.shape.slice(0, gatherAxis)),
      x.shape[gatherAxis]!,
      util.sizeFromShape(x.shape.slice(gatherAxis + 1)),
    );
    return output(backend, outShape, out);
  });
  return kernels;
}
