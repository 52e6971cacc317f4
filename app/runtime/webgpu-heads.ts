/**
 * Attention's head split and merge as WGSL programs for the webgpu backend (`MaeSplitHeads`,
 * `MaeMergeHeads` of fused-ops.ts): q, k, v [B, heads, N, headDim] gathered straight from qkv
 * [B, N, 3·heads·headDim] (columns ordered (3, heads, headDim), as timm's), one dispatch per
 * part instead of a split, three reshapes and three transposes; the merge writes dq, dk, dv
 * back into one [B, N, 3·heads·headDim] in one dispatch.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { MERGE_HEADS_KERNEL, SPLIT_HEADS_KERNEL } from './fused-ops';
import type { DispatchHelpers } from './webgpu-kernels';
import { program, requireFloat, requireShape, type KernelArgs } from './webgpu-program';

const HEAD_UNIFORMS = 'heads : i32, tokens : i32, headDim : i32,';

function headUniforms(heads: number, tokens: number, headDim: number): { type: string; data: number[] }[] {
  return [heads, tokens, headDim].map((value) => ({ type: 'int32', data: [value] }));
}

/** WGSL that splits a head-layout `index` into b, h, n, d and finds its column in qkv. */
const HEAD_COORDINATES = `
      let d = index % uniforms.headDim;
      let n = (index / uniforms.headDim) % uniforms.tokens;
      let h = (index / (uniforms.headDim * uniforms.tokens)) % uniforms.heads;
      let b = index / (uniforms.headDim * uniforms.tokens * uniforms.heads);
      let width = 3 * uniforms.heads * uniforms.headDim;
      let column = h * uniforms.headDim + d;`;

/** The `MaeSplitHeads` kernel: [q, k, v]. */
export function splitHeads(helpers: DispatchHelpers) {
  return (args: KernelArgs): TensorInfo[] => {
    const backend = args.backend as WebGPUBackend;
    const { qkv } = args.inputs as Record<'qkv', TensorInfo>;
    const { numHeads } = args.attrs as { numHeads: number };
    requireFloat(SPLIT_HEADS_KERNEL, { qkv });
    const [batch, tokens, width] = qkv.shape as [number, number, number];
    if (qkv.shape.length !== 3 || width % (3 * numHeads) !== 0)
      throw new Error(`${SPLIT_HEADS_KERNEL}: qkv [${qkv.shape}] is not [B, N, 3·${numHeads}·headDim]`);
    const headDim = width / (3 * numHeads);
    const shape = [batch, numHeads, tokens, headDim];
    return [0, 1, 2].map((part) =>
      backend.runWebGPUProgram(
        program(
          helpers,
          `maeSplitHeads${part}`,
          ['qkv'],
          shape,
          `${HEAD_COORDINATES}
      result[index] = qkv[(b * uniforms.tokens + n) * width + ${part} * uniforms.heads * uniforms.headDim + column];`,
          HEAD_UNIFORMS,
        ),
        [qkv],
        'float32',
        headUniforms(numHeads, tokens, headDim),
      ),
    );
  };
}

/** The `MaeMergeHeads` kernel: dqkv [B, N, 3·heads·headDim] from dq, dk, dv. */
export function mergeHeads(helpers: DispatchHelpers) {
  return (args: KernelArgs): TensorInfo => {
    const backend = args.backend as WebGPUBackend;
    const { dq, dk, dv } = args.inputs as Record<'dq' | 'dk' | 'dv', TensorInfo>;
    requireFloat(MERGE_HEADS_KERNEL, { dq, dk, dv });
    if (dq.shape.length !== 4)
      throw new Error(`${MERGE_HEADS_KERNEL}: dq must be [B, heads, N, headDim], got [${dq.shape}]`);
    requireShape(MERGE_HEADS_KERNEL, 'dk', dk.shape, dq.shape);
    requireShape(MERGE_HEADS_KERNEL, 'dv', dv.shape, dq.shape);
    const [batch, heads, tokens, headDim] = dq.shape as [number, number, number, number];
    const outputShape = [batch, tokens, 3 * heads * headDim];
    return backend.runWebGPUProgram(
      program(
        helpers,
        'maeMergeHeads',
        ['dq', 'dk', 'dv'],
        outputShape,
        `
      let width = 3 * uniforms.heads * uniforms.headDim;
      let column = index % width;
      let n = (index / width) % uniforms.tokens;
      let b = index / (width * uniforms.tokens);
      let part = column / (uniforms.heads * uniforms.headDim);
      let h = (column / uniforms.headDim) % uniforms.heads;
      let d = column % uniforms.headDim;
      let source = ((b * uniforms.heads + h) * uniforms.tokens + n) * uniforms.headDim + d;
      if (part == 0) {
        result[index] = dq[source];
      } else if (part == 1) {
        result[index] = dk[source];
      } else {
        result[index] = dv[source];
      }`,
        HEAD_UNIFORMS,
      ),
      [dq, dk, dv],
      'float32',
      headUniforms(heads, tokens, headDim),
    );
  };
}
