/**
 * Shape arithmetic for the native kernels (native-kernels.ts): strides, broadcasting and the
 * merging of axes, worked out in TypeScript so the addon only loops over flat strided arrays.
 */
import { util } from '@tensorflow/tfjs-core';

/** Row-major element strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d]!;
  }
  return strides;
}

/** The shape two operands broadcast to (NumPy's rule); an error when they cannot. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let d = 0; d < rank; d++) {
    const x = a[d - rank + a.length] ?? 1;
    const y = b[d - rank + b.length] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw new Error(`Operands could not be broadcast together with shapes ${a} and ${b}.`);
    out[d] = x === 1 ? y : x;
  }
  return out;
}

/** Strides that read `shape` (right-aligned) as if it had `outShape`: 0 along broadcast axes. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_size, d) => (d < offset || shape[d - offset] === 1 ? 0 : own[d - offset]!));
}

/**
 * Drops size-1 axes and merges neighbours that every operand walks contiguously, so the addon's
 * innermost loop is as long as possible: [8,17,192] + [192] becomes [136,192] with strides (0,1).
 */
export function collapse(
  shape: readonly number[],
  ...strideSets: number[][]
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strideSets.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strideSets.every((s, i) => outStrides[i]![last] === s[d]! * shape[d]!)) {
      outShape[last]! *= shape[d]!;
      strideSets.forEach((s, i) => {
        outStrides[i]![last] = s[d]!;
      });
    } else {
      outShape.push(shape[d]!);
      strideSets.forEach((s, i) => outStrides[i]!.push(s[d]!));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** Offsets of each batch entry of a batched matmul operand, broadcast to `outBatch`. */
export function batchOffsets(
  batchShape: readonly number[],
  outBatch: readonly number[],
  matrixSize: number,
): Int32Array {
  const strides = broadcastStrides(batchShape, outBatch);
  const count = util.sizeFromShape([...outBatch]);
  const offsets = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let rest = i;
    let offset = 0;
    for (let d = outBatch.length - 1; d >= 0; d--) {
      offset += (rest % outBatch[d]!) * strides[d]!;
      rest = Math.floor(rest / outBatch[d]!);
    }
    offsets[i] = offset * matrixSize;
  }
  return offsets;
}
