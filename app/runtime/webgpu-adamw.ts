/**
 * AdamW over every parameter of a model in **one** WGSL dispatch on the webgpu backend.
 *
 * Why this layout: a tfjs-backend-webgpu program binds each input as its own storage buffer and
 * writes one output, and an adapter binds few storage buffers per shader (8 on many, 4 at the
 * compatibility level), so one dispatch cannot address a model's ~100 parameter tensors, and the
 * backend has no tensors that are views at an offset into a larger buffer. So the optimizer keeps
 * its state packed in one tensor, `state` = [parameters | first moments | second moments], each
 * part in the same order with the weight-decayed parameters first (one index comparison picks the
 * decay branch: no offsets table), and per step:
 *  1. copies each gradient into one packed `grads` tensor (buffer-to-buffer copies, no dispatch);
 *  2. runs ONE program whose output is `state` itself (the backend lets a program write into an
 *     existing tensor, bound read-write): each thread updates one parameter and both its moments;
 *  3. copies the new parameters back into the model's variables, in place (copies, no dispatch).
 * The moment variables `AdamW` exposes are refreshed from `state` only when asked for
 * (`syncMoments`: checkpoints), and a variable that someone re-assigned (a resumed checkpoint,
 * loaded init weights) is copied into `state` before the next update. The float32 operations are
 * those of `app/train/adamw.ts`'s composite update, in the same order.
 *
 * Limit: the packed state is one storage binding, so 3 × (parameter count) × 4 bytes must fit the
 * adapter's `maxStorageBufferBindingSize` (128 MiB on many: 11 M parameters); past it
 * `packedAdamWFits` says no and `AdamW` keeps the per-parameter kernel (3 dispatches each).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type { FusedAdamWScalars } from './fused-adamw';

const WORKGROUP = 64;
const FLOAT_BYTES = 4;

/** The parts of tfjs-backend-webgpu's backend the packed update uses (some are private in its types). */
interface Backend {
  device: GPUDevice;
  tensorMap: { get(dataId: object): { resource?: unknown; values: unknown; refCount: number } };
  commandEncoder: GPUCommandEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: 'float32'): TensorInfo;
  runWebGPUProgram(
    program: WebGPUProgram,
    inputs: TensorInfo[],
    dtype: 'float32',
    uniforms: { type: string; data: number[] }[],
    output: TensorInfo,
  ): TensorInfo;
}

function webGpuBackend(): Backend {
  if (tf.getBackend() !== 'webgpu')
    throw new Error(`packed AdamW needs the webgpu backend, the active one is ${tf.getBackend()}`);
  return tf.backend() as unknown as Backend;
}

let enabled = true;

/**
 * Turns the packed update off (on: the default), so bench/webgpu-step.ts can measure the per-parameter one beside it.
 */
export function setPackedAdamW(on: boolean): void {
  enabled = on;
}

/** Whether the active backend runs the packed update and `parameterCount` parameters fit one binding. */
export function packedAdamWFits(parameterCount: number): boolean {
  if (tf.getBackend() !== 'webgpu' || !enabled) return false;
  const limit = webGpuBackend().device.limits.maxStorageBufferBindingSize;
  return 3 * parameterCount * FLOAT_BYTES <= limit;
}

/** The one program: thread i updates parameter i and its two moments inside `result` (= state). */
function packedProgram(count: number): WebGPUProgram {
  return {
    variableNames: ['grads'],
    outputShape: [3 * count],
    shaderKey: 'maePackedAdamW',
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(count / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    uniforms:
      'count : i32, decayEnd : i32, beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 ' +
      ': f32, rootCorrection2 : f32, epsilon : f32, decayFactor : f32, stepSize : f32,',
    getUserCode: () => `
      ${'fn main(index : i32)'} {
        if (index < uniforms.count) {
          let g = grads[index];
          let mi = result[uniforms.count + index] * uniforms.beta1 + g * uniforms.oneMinusBeta1;
          let vi = result[2 * uniforms.count + index] * uniforms.beta2 + (g * g) * uniforms.oneMinusBeta2;
          let denominator = sqrt(vi) / uniforms.rootCorrection2 + uniforms.epsilon;
          var p = result[index];
          if (index < uniforms.decayEnd) {
            p = p * uniforms.decayFactor;
          }
          result[index] = p - (mi / denominator) * uniforms.stepSize;
          result[uniforms.count + index] = mi;
          result[2 * uniforms.count + index] = vi;
        }
      }`,
  } as unknown as WebGPUProgram;
}

/** One parameter's place in the packed layout. */
interface Slot {
  name: string;
  offset: number;
  size: number;
  param: tf.Variable;
  m: tf.Variable;
  v: tf.Variable;
}

/** The parts of `state`, in the order they are packed. */
const PARTS = ['param', 'm', 'v'] as const;

/** AdamW's state packed for the one-dispatch update; create it when `packedAdamWFits`. */
export class PackedAdamW {
  private readonly slots: Slot[] = [];
  private readonly count: number;
  private readonly decayEnd: number;
  private readonly state: tf.Tensor;
  private readonly grads: tf.Tensor;
  /** The buffer (dataId) of each variable whose contents `state` holds; another one means re-assigned. */
  private readonly owned = new Map<tf.Variable, object>();

  /**
   * Packs `params` and their moments (`m`, `v`: same names) on the GPU; `decays(name)` says
   * whether a parameter takes weight decay.
   */
  constructor(
    params: Map<string, tf.Variable>,
    m: Map<string, tf.Variable>,
    v: Map<string, tf.Variable>,
    decays: (name: string) => boolean,
  ) {
    const names = [...params.keys()];
    const ordered = [...names.filter(decays), ...names.filter((name) => !decays(name))];
    let offset = 0;
    for (const name of ordered) {
      const param = params.get(name)!;
      this.slots.push({ name, offset, size: param.size, param, m: m.get(name)!, v: v.get(name)! });
      offset += param.size;
    }
    this.count = offset;
    this.decayEnd = names.filter(decays).reduce((sum, name) => sum + params.get(name)!.size, 0);
    this.state = this.allocate([3 * this.count]);
    this.grads = this.allocate([this.count]);
  }

  /**
   * One AdamW update of every parameter (`weightDecay`: the decayed group's): gradient copies, one dispatch, parameter
   * copies.
   */
  step(grads: Map<string, tf.Tensor>, scalars: FusedAdamWScalars): void {
    const backend = webGpuBackend();
    this.adoptReassigned(backend);
    const encoder = this.encoder(backend);
    const gradsBuffer = this.buffer(backend, this.grads);
    for (const slot of this.slots) {
      const grad = grads.get(slot.name);
      if (!grad) throw new Error(`AdamW: no gradient for ${slot.name}`);
      if (grad.dtype !== 'float32' || grad.size !== slot.size)
        throw new Error(
          `AdamW: the gradient of ${slot.name} has shape [${grad.shape}] ` +
            `(${grad.dtype}), expected [${slot.param.shape}] float32`,
        );
      backend.uploadToGPU(grad.dataId);
      // disposed after this queue is submitted, as the backend's own kernels
      backend.commandQueueOwnedIds.add(grad.dataId);
      encoder.copyBufferToBuffer(
        this.buffer(backend, grad),
        0,
        gradsBuffer,
        slot.offset * FLOAT_BYTES,
        slot.size * FLOAT_BYTES,
      );
    }
    const { lr, beta1, beta2, epsilon, weightDecay, correction1, correction2 } = scalars;
    const uniforms = [
      { type: 'int32', data: [this.count] },
      { type: 'int32', data: [weightDecay > 0 ? this.decayEnd : 0] },
      ...[
        beta1,
        1 - beta1,
        beta2,
        1 - beta2,
        Math.sqrt(correction2),
        epsilon,
        1 - lr * weightDecay,
        lr / correction1,
      ].map((value) => ({ type: 'float32', data: [value] })),
    ];
    backend.runWebGPUProgram(packedProgram(this.count), [this.grads], 'float32', uniforms, this.state);
    this.copyOut(backend, ['param']);
  }

  /** Copies the moments from the packed state into the moment variables (before a checkpoint). */
  syncMoments(): void {
    const backend = webGpuBackend();
    this.adoptReassigned(backend);
    this.copyOut(backend, ['m', 'v']);
  }

  /** Frees the packed tensors (the variables stay). */
  dispose(): void {
    tf.dispose([this.state, this.grads]);
  }

  private allocate(shape: number[]): tf.Tensor {
    const backend = webGpuBackend();
    const info = backend.makeTensorInfo(shape, 'float32');
    backend.uploadToGPU(info.dataId);
    return tf.engine().makeTensorFromTensorInfo(info);
  }

  private encoder(backend: Backend): GPUCommandEncoder {
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    return backend.commandEncoder!;
  }

  private buffer(backend: Backend, tensor: TensorInfo): GPUBuffer {
    backend.uploadToGPU(tensor.dataId);
    return backend.tensorMap.get(tensor.dataId).resource as GPUBuffer;
  }

  /**
   * Copies into `state` every variable whose buffer is not the one `state` last wrote (all of
   * them the first time; later, one that was re-assigned), and gives each its own buffer, so the
   * in-place copies of `copyOut` change that variable only.
   */
  private adoptReassigned(backend: Backend): void {
    for (const slot of this.slots) {
      PARTS.forEach((part, index) => {
        const variable = slot[part];
        if (this.owned.get(variable) === variable.dataId && backend.tensorMap.get(variable.dataId).refCount === 1)
          return;
        const fresh = this.allocate(variable.shape);
        const source = this.buffer(backend, variable);
        const encoder = this.encoder(backend);
        encoder.copyBufferToBuffer(
          source,
          0,
          this.buffer(backend, this.state),
          (index * this.count + slot.offset) * FLOAT_BYTES,
          slot.size * FLOAT_BYTES,
        );
        encoder.copyBufferToBuffer(source, 0, this.buffer(backend, fresh), 0, slot.size * FLOAT_BYTES);
        backend.commandQueueOwnedIds.add(variable.dataId);
        variable.assign(fresh);
        fresh.dispose();
        this.owned.set(variable, variable.dataId);
      });
    }
  }

  /** Copies the given parts of `state` into their variables' own buffers, in place. */
  private copyOut(backend: Backend, parts: readonly (typeof PARTS)[number][]): void {
    const encoder = this.encoder(backend);
    const state = this.buffer(backend, this.state);
    for (const slot of this.slots) {
      for (const part of parts) {
        const variable = slot[part];
        encoder.copyBufferToBuffer(
          state,
          (PARTS.indexOf(part) * this.count + slot.offset) * FLOAT_BYTES,
          this.buffer(backend, variable),
          0,
          slot.size * FLOAT_BYTES,
        );
        backend.tensorMap.get(variable.dataId).values = null; // a value read before (a checkpoint) is stale now
        backend.commandQueueOwnedIds.add(variable.dataId);
      }
    }
  }
}
