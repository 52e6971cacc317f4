/**
 * What the webgpu backend's WGSL kernels share: a tfjs-backend-webgpu program with one thread
 * per output element (the backend declares each input as an `array<f32>` named as in
 * `variableNames`, the output as `result`, and the uniforms `rows`, `cols`, `epsilon` besides
 * its own `size`), and the input checks every kernel makes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { DispatchHelpers } from './webgpu-kernels';

const WORKGROUP = 64;
/** What TF.js hands a kernel function. */
export type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };

/** The uniforms `layout` fills, declared as WGSL struct members. */
const LAYOUT_UNIFORMS = 'rows : i32, cols : i32, epsilon : f32,';

/**
 * A program of `outputShape` with one thread per output element running `body` (`index` in
 * scope); `uniforms` declares its own (default: `layout`'s rows, cols and epsilon).
 */
export function program(
  helpers: DispatchHelpers,
  name: string,
  variableNames: string[],
  outputShape: number[],
  body: string,
  uniforms = LAYOUT_UNIFORMS,
): WebGPUProgram {
  const dispatchLayout = helpers.flatDispatchLayout(outputShape);
  return {
    variableNames,
    outputShape,
    shaderKey: name,
    dispatchLayout,
    dispatch: helpers.computeDispatch(dispatchLayout, outputShape, [WORKGROUP, 1, 1]),
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    uniforms,
    getUserCode: () => `
      ${'fn main(index : i32)'} {
        if (index < uniforms.size) {
          ${body}
        }
      }`,
  } as unknown as WebGPUProgram;
}

/** Throws naming the kernel and the input that is not float32. */
export function requireFloat(kernel: string, inputs: Record<string, TensorInfo>): void {
  for (const [name, input] of Object.entries(inputs)) {
    if (input.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be a float32 tensor, got ${input.dtype}`);
  }
}

/** Throws naming the kernel and the input whose shape is not `expected`. */
export function requireShape(
  kernel: string,
  what: string,
  shape: readonly number[],
  expected: readonly number[],
): void {
  if (!tf.util.arraysEqual([...shape], [...expected]))
    throw new Error(`${kernel}: ${what} has shape [${shape}], expected [${expected}]`);
}

/** Rows and columns of `shape` seen as [rows, last axis], and the uniforms every program takes. */
export function layout(
  shape: readonly number[],
  epsilon = 0,
): { rows: number; cols: number; uniforms: { type: string; data: number[] }[] } {
  const rows = tf.util.sizeFromShape(shape.slice(0, -1));
  const cols = shape.at(-1) ?? 1;
  return {
    rows,
    cols,
    uniforms: [
      { type: 'int32', data: [rows] },
      { type: 'int32', data: [cols] },
      { type: 'float32', data: [epsilon] },
    ],
  };
}
