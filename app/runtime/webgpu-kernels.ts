/**
 * The `webgpu` backend's own kernels, written in WGSL as tfjs-backend-webgpu programs (each
 * program writes one output; the backend compiles it once per shape and batches its dispatch
 * with the others of the step, so nothing is read back):
 *  - AdamW (fused-adamw.ts) per parameter: three dispatches (new m, new v, new parameter, each
 *    reading parameter, moments and gradient) instead of ~15 elementwise kernels, with the same
 *    float32 operations in the same order as `app/train/adamw.ts`'s composite ops. Training uses
 *    webgpu-adamw.ts instead (every parameter in one dispatch); this one remains for a model
 *    whose packed state is over the adapter's binding limit;
 *  - LayerNorm forward (row mean, row 1/σ, then y: 3 dispatches instead of ~10) and backward
 *    (row sums of dy·γ and dy·γ·x̂, then dx, dγ, dβ: 4 instead of ~15), the math of
 *    `app/mae/ops.ts`'s composite LayerNorm (webgpu-layer-norm.ts);
 *  - GELU (one dispatch each way) and softmax (two each way) (webgpu-activations.ts);
 *  - attention head split (one dispatch per q, k, v) and merge (one) (webgpu-heads.ts);
 *  - the linear layer: tfjs-backend-webgpu's matmul with the bias in its epilogue, and for the
 *    gradient two matmuls and a WGSL column sum (webgpu-linear.ts).
 * Not done yet for webgpu: a matmul of our own (the backend's tiled one is used).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram, webgpu_util as WebGpuUtil } from '@tensorflow/tfjs-backend-webgpu';

/** tfjs-backend-webgpu's dispatch helpers, handed in by webgpu.ts (the package is optional: no static import). */
export type DispatchHelpers = Pick<typeof WebGpuUtil, 'flatDispatchLayout' | 'computeDispatch'>;
let dispatchHelpers: DispatchHelpers;
import { ADAMW_KERNEL, type FusedAdamWScalars } from './fused-adamw';
import {
  GELU_GRAD_KERNEL,
  GELU_KERNEL,
  LAYER_NORM_GRAD_KERNEL,
  LAYER_NORM_KERNEL,
  LINEAR_GRAD_KERNEL,
  LINEAR_KERNEL,
  MERGE_HEADS_KERNEL,
  registerFusedGradients,
  SOFTMAX_GRAD_KERNEL,
  SOFTMAX_KERNEL,
  SPLIT_HEADS_KERNEL,
} from './fused-ops';
import { linear, linearGrad } from './webgpu-linear';
import { mergeHeads, splitHeads } from './webgpu-heads';
import { gelu, geluGrad, softmax, softmaxGrad } from './webgpu-activations';
import { layerNorm, layerNormGrad } from './webgpu-layer-norm';

const WORKGROUP = 64;

/** Which of AdamW's outputs a program writes. */
type AdamWPart = 'm' | 'v' | 'param';

/** One AdamW output over a flat parameter; `decays` bakes the decay branch into the shader. */
function adamWProgram(shape: number[], part: AdamWPart, decays: boolean): WebGPUProgram {
  const dispatchLayout = dispatchHelpers.flatDispatchLayout(shape);
  const result =
    part === 'm'
      ? 'mi'
      : part === 'v'
        ? 'vi'
        : `${decays ? 'p * uniforms.decayFactor' : 'p'} - (mi / denominator) * uniforms.stepSize`;
  return {
    variableNames: ['param', 'm', 'v', 'grad'],
    outputShape: shape,
    shaderKey: `maeAdamW_${part}_${decays}`,
    dispatchLayout,
    dispatch: dispatchHelpers.computeDispatch(dispatchLayout, shape, [WORKGROUP, 1, 1]),
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    uniforms:
      'beta1 : f32, oneMinusBeta1 : f32, beta2 : f32, oneMinusBeta2 : f32, ' +
      'rootCorrection2 : f32, epsilon : f32, decayFactor : f32, stepSize : f32,',
    getUserCode: () => `
      ${'fn main(index : i32)'} {
        if (index < uniforms.size) {
          let g = grad[index];
          let mi = m[index] * uniforms.beta1 + g * uniforms.oneMinusBeta1;
          let vi = v[index] * uniforms.beta2 + (g * g) * uniforms.oneMinusBeta2;
          let denominator = sqrt(vi) / uniforms.rootCorrection2 + uniforms.epsilon;
          let p = param[index];
          result[index] = ${result};
        }
      }`,
  } as unknown as WebGPUProgram;
}

function adamW(args: Parameters<KernelFunc>[0]): TensorInfo[] {
  const backend = args.backend as WebGPUBackend;
  const inputs = args.inputs as Record<'param' | 'm' | 'v' | 'grad', TensorInfo>;
  const { lr, beta1, beta2, epsilon, weightDecay, correction1, correction2 } =
    args.attrs as unknown as FusedAdamWScalars;
  for (const name of ['param', 'm', 'v', 'grad'] as const) {
    if (inputs[name].dtype !== 'float32')
      throw new Error(`${ADAMW_KERNEL}: ${name} must be a float32 tensor, got ${inputs[name].dtype}`);
    if (!tf.util.arraysEqual(inputs[name].shape, inputs.param.shape))
      throw new Error(`${ADAMW_KERNEL}: ${name} has shape [${inputs[name].shape}], expected [${inputs.param.shape}]`);
  }
  const decays = weightDecay > 0;
  const scalars = [
    beta1,
    1 - beta1,
    beta2,
    1 - beta2,
    Math.sqrt(correction2),
    epsilon,
    decays ? 1 - lr * weightDecay : 1,
    lr / correction1,
  ];
  const uniforms = scalars.map((value) => ({ type: 'float32', data: [value] }));
  const ordered = [inputs.param, inputs.m, inputs.v, inputs.grad];
  return (['param', 'm', 'v'] as const).map((part) =>
    backend.runWebGPUProgram(adamWProgram([...inputs.param.shape], part, decays), ordered, 'float32', uniforms),
  );
}

let registered = false;

/** Registers the kernels above for the `webgpu` backend once. */
export function registerWebGpuKernels(helpers: DispatchHelpers): void {
  if (registered) return;
  registered = true;
  dispatchHelpers = helpers;
  tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: 'webgpu', kernelFunc: adamW as unknown as KernelFunc });
  tf.registerKernel({
    kernelName: LAYER_NORM_KERNEL,
    backendName: 'webgpu',
    kernelFunc: layerNorm(helpers) as unknown as KernelFunc,
  });
  tf.registerKernel({
    kernelName: LAYER_NORM_GRAD_KERNEL,
    backendName: 'webgpu',
    kernelFunc: layerNormGrad(helpers) as unknown as KernelFunc,
  });
  const kernels = [
    [GELU_KERNEL, gelu],
    [GELU_GRAD_KERNEL, geluGrad],
    [SOFTMAX_KERNEL, softmax],
    [SOFTMAX_GRAD_KERNEL, softmaxGrad],
    [SPLIT_HEADS_KERNEL, splitHeads],
    [MERGE_HEADS_KERNEL, mergeHeads],
    [LINEAR_KERNEL, linear],
    [LINEAR_GRAD_KERNEL, linearGrad],
  ] as const;
  for (const [kernelName, kernel] of kernels) {
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: kernel(helpers) as unknown as KernelFunc });
  }
  registerFusedGradients();
}
