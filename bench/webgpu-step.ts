/**
 * What one webgpu training step costs the GPU queue: compute dispatches and GPU → CPU reads per
 * optimizer step, and ms per step, before and after the one-dispatch AdamW and the loss read once
 * per logging interval (`MaeTrainer.advance`). "before" is the same code with the packed AdamW
 * turned off (3 dispatches per parameter) and the loss read every step (`trainStep`).
 *
 *   npm run bench webgpu-step [-- --steps 5 --warmup 2 --only @64]
 *
 * Configs: the 2-block toy of app/runtime/webgpu.test.ts, and ViT 192d×4/8 @64 with the 128×2
 * decoder at batch 8 (bench:train's small one). Asks for webgpu by name, so a software adapter
 * (Mesa's llvmpipe) is measured too: its counts hold for any adapter, its times do not.
 */
import { maeConfigFromParts, type MaeConfig } from '../app/mae/config';
import { selectBackend } from '../app/runtime/backend';
import { setPackedAdamW } from '../app/runtime/webgpu-adamw';
import { countGpuWork } from '../app/runtime/webgpu-counter';
import { syntheticSource } from '../app/train/synthetic';
import { MaeTrainer } from '../app/train/trainer';
import { argument } from './shared/options';

const TOY: MaeConfig = {
  ...maeConfigFromParts('vit-tiny', 4, '128x2', { imgSize: 16, depth: 2, inChans: 2 }),
  embedDim: 32,
  numHeads: 2,
  decoderEmbedDim: 16,
  decoderDepth: 1,
  decoderNumHeads: 2,
};
const CONFIGS: { name: string; model: MaeConfig; batchSize: number }[] = [
  { name: 'toy 32dx2/4@16 dec16x1 b4', model: TOY, batchSize: 4 },
  {
    name: 'vit-192dx4/8@64 dec128x2 b8',
    model: maeConfigFromParts('vit-tiny', 8, '128x2', { imgSize: 64, depth: 4, inChans: 3 }),
    batchSize: 8,
  },
];

/** Dispatches and reads per step and ms per step over `steps` steps after `warmup`. */
async function measure(
  model: MaeConfig,
  batchSize: number,
  after: boolean,
  steps: number,
  warmup: number,
): Promise<{ dispatches: number; reads: number; ms: number }> {
  setPackedAdamW(after);
  const trainer = MaeTrainer.create(
    { model, batchSize, totalSteps: 1000, warmupSteps: 0, seed: 0 },
    syntheticSource({ imgSize: model.imgSize, channels: model.inChans }),
  );
  trainer.lossReads = { everySteps: steps, everyMs: Number.POSITIVE_INFINITY }; // one logging interval
  try {
    for (let i = 0; i < warmup; i++) await trainer.trainStep(); // compiles the shaders, packs the AdamW state
    const started = performance.now();
    const { counted } = await countGpuWork(async () => {
      for (let i = 0; i < steps; i++) await (after ? trainer.advance() : trainer.trainStep());
      await trainer.flushLosses();
    });
    return {
      dispatches: counted.dispatches / steps,
      reads: counted.reads / steps,
      ms: (performance.now() - started) / steps,
    };
  } finally {
    trainer.dispose();
    setPackedAdamW(true);
  }
}

const steps = Number(argument('steps', '5'));
const warmup = Number(argument('warmup', '2'));
const only = argument('only', '');
const selection = await selectBackend('webgpu', { log: () => undefined }).catch((error: unknown) => error as Error);
if (selection instanceof Error || selection.backend !== 'webgpu') {
  console.log(
    `webgpu-step: skipped, no webgpu backend (${selection instanceof Error ? selection.message : selection.backend})`,
  );
} else {
  console.log(`webgpu-step on ${selection.device}, ${steps} steps after ${warmup} (per optimizer step)`);
  for (const config of CONFIGS.filter((c) => c.name.includes(only))) {
    const before = await measure(config.model, config.batchSize, false, steps, warmup);
    const after = await measure(config.model, config.batchSize, true, steps, warmup);
    const line = (what: string, m: typeof before): string =>
      `  ${what.padEnd(6)} ${m.dispatches.toFixed(1).padStart(7)} ` +
      `dispatches ${m.reads.toFixed(2).padStart(5)} reads ${m.ms.toFixed(0).padStart(6)} ms`;
    console.log(`${config.name}\n${line('before', before)}\n${line('after', after)}`);
  }
}
