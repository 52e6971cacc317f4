/**
 * The `native` TF.js backend: a MathBackendCPU (same tensor storage, so every cpu kernel works
 * on it unchanged) whose hot kernels are replaced by the C++ ones of native-kernels.ts, and
 * whose kernel outputs are recycled (native-buffers.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './native-addon';
import { NativeBackend } from './native-buffers';
import { registerFusedGradients } from './fused-ops';
import { nativeOnlyKernels } from './native-fused-kernels';
import { nativeKernels } from './native-kernels';

/** The TF.js name of the backend. */
export const NATIVE_BACKEND = 'native';

/**
 * Registers the `native` backend and its kernels once (later calls are no-ops) and returns
 * its name. It is registered with priority 0, so it is never picked unless asked for.
 */
export function registerNativeBackend(addon: NativeAddon): string {
  if (tf.findBackendFactory(NATIVE_BACKEND)) return NATIVE_BACKEND;
  const cpuConfigs = tf.getKernelsForBackend('cpu');
  if (cpuConfigs.length === 0) throw new Error("native backend: the cpu backend's kernels are not registered");
  const cpuKernels = new Map<string, KernelFunc>(cpuConfigs.map((config) => [config.kernelName, config.kernelFunc]));
  const replaced = nativeKernels(addon, cpuKernels);
  for (const config of cpuConfigs) {
    tf.registerKernel({
      ...config,
      backendName: NATIVE_BACKEND,
      kernelFunc: replaced.get(config.kernelName) ?? config.kernelFunc,
    });
  }
  for (const [kernelName, kernelFunc] of nativeOnlyKernels(addon))
    tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc });
  registerFusedGradients();
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(), 0);
  return NATIVE_BACKEND;
}
