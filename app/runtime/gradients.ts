/**
 * TF.js gradient registration. `@tensorflow/tfjs-core` on its own registers no gradients (the
 * `@tensorflow/tfjs` umbrella does, by importing `tfjs-core/dist/register_all_gradients`), and
 * that file's ESM imports have no extensions, which Node's resolver refuses once the studio is
 * bundled with packages external. We import it once with a scoped resolve hook that retries
 * extensionless relative imports inside tfjs-core's dist with `.js`. The engine and gradient
 * registry are process globals, so registrations reach the core the model uses.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerHooks } from 'node:module';

let registration: Promise<void> | null = null;

/** Whether backprop through the MAE is possible (checks kernels it relies on). */
export function gradientsRegistered(): boolean {
  return ['BatchMatMul', 'Softmax', 'Erf', 'Mean', 'Concat'].every((kernel) => tf.getGradient(kernel) !== undefined);
}

/** Registers all TF.js gradients once; safe to call many times and concurrently. */
export function ensureGradients(): Promise<void> {
  registration ??= (async () => {
    if (gradientsRegistered()) return; // e.g. tfjs-node brought the umbrella package
    const hooks = registerHooks({
      resolve(specifier, context, nextResolve) {
        try {
          return nextResolve(specifier, context);
        } catch (error) {
          const insideCore = context.parentURL?.includes('/@tensorflow/tfjs-core/dist/') ?? false;
          if (insideCore && specifier.startsWith('.') && !specifier.endsWith('.js'))
            return nextResolve(`${specifier}.js`, context);
          throw error;
        }
      },
    });
    try {
      await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    } finally {
      hooks.deregister();
    }
    if (!gradientsRegistered()) throw new Error('TF.js gradients could not be registered');
  })();
  return registration;
}
