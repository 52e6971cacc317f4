/**
 * Per-kernel time breakdown of MAE training steps on one backend: every kernel the backend
 * registers is wrapped with a timer (reading results synchronously, so async backends are not
 * supported), then a few steps run and the kernels are listed by total time per step.
 *
 *   node dist/bench/kernels.js [--backend native] [--only @64] [--steps 2]
 */
import * as tf from '@tensorflow/tfjs-core';
import { MAE_PRESETS, maeConfigFromParts, type MaeConfig } from '../app/mae/config';
import { selectBackend, type BackendPreference } from '../app/runtime/backend';
import { syntheticSource } from '../app/train/synthetic';
import { MaeTrainer } from '../app/train/trainer';
import { argument } from './shared/options';

const CONFIGS: { name: string; model: MaeConfig }[] = [
  { name: 'vit-tiny/16@224 dec512x8', model: MAE_PRESETS.maeVitTinyPatch16Dec512d8b({ inChans: 3 }) },
  {
    name: 'vit-192dx4/8@64 dec128x2',
    model: maeConfigFromParts('vit-tiny', 8, '128x2', { imgSize: 64, depth: 4, inChans: 3 }),
  },
];

/** Wraps every kernel of `backendName` with a timer; returns the totals map (ms, calls). */
function instrument(backendName: string): Map<string, { ms: number; calls: number }> {
  const totals = new Map<string, { ms: number; calls: number }>();
  for (const kernel of tf.getKernelsForBackend(backendName)) {
    const inner = kernel.kernelFunc;
    tf.unregisterKernel(kernel.kernelName, backendName);
    tf.registerKernel({
      ...kernel,
      kernelFunc: (args) => {
        const started = performance.now();
        const result = inner(args);
        const total = totals.get(kernel.kernelName) ?? { ms: 0, calls: 0 };
        total.ms += performance.now() - started;
        total.calls += 1;
        totals.set(kernel.kernelName, total);
        return result;
      },
    });
  }
  return totals;
}

async function main(): Promise<void> {
  const backend = (argument('backend') ?? 'native') as Exclude<BackendPreference, 'auto'>;
  const steps = Number(argument('steps') ?? 2);
  const only = argument('only');
  const selection = await selectBackend(backend, { log: () => undefined });
  const totals = instrument(selection.tfBackend);
  for (const config of CONFIGS.filter((c) => !only || c.name.includes(only))) {
    const trainer = MaeTrainer.create(
      { model: config.model, batchSize: 8, accumSteps: 1, totalSteps: 1000, warmupSteps: 0, seed: 0 },
      syntheticSource({ imgSize: config.model.imgSize, channels: config.model.inChans }),
    );
    await trainer.trainStep(); // warm-up, untimed
    totals.clear();
    const started = performance.now();
    for (let i = 0; i < steps; i++) await trainer.trainStep();
    const stepMs = (performance.now() - started) / steps;
    trainer.dispose();
    const rows = [...totals.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const kernelMs = rows.reduce((sum, [, t]) => sum + t.ms, 0) / steps;
    console.log(
      `\n${backend} ${config.name}: ${stepMs.toFixed(0)} ms/step, ${kernelMs.toFixed(0)} ` +
        `ms in kernels, ${(stepMs - kernelMs).toFixed(0)} ms outside (autodiff, tidy, JS)`,
    );
    for (const [name, t] of rows.slice(0, 25)) {
      const share = ((100 * t.ms) / steps / stepMs).toFixed(1);
      console.log(
        `  ${name.padEnd(24)} ${(t.ms / steps).toFixed(1).padStart(8)} ` +
          `ms ${share.padStart(5)}%  ${String(t.calls / steps).padStart(5)} calls`,
      );
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
