/**
 * GPU benchmark: one MAE training step on the webgpu backend beside the same model in PyTorch
 * on the same machine's GPU (CUDA, else MPS; bench/mae_torch.py --device auto), printed as
 * webgpu/PyTorch. On a software adapter (Mesa's llvmpipe in CI) it runs a tiny model so that it
 * finishes in seconds, and says the ratio compares a CPU rasteriser, not a GPU.
 *
 *   node dist/bench/gpu.js [--steps 3] [--size tiny|small|vit-tiny] [--json] [--python /usr/bin/python3]
 *
 * Sizes: tiny = 192d×2 @32 patch 8, dec 128×2 (the software default); small = 192d×4 @64 patch 8,
 * dec 128×2; vit-tiny = ViT-Tiny/16 @224, dec 512×8 (the hardware default). Batch 8, 3 channels.
 */
import { maeConfigFromParts, type MaeConfig } from '../app/mae/config';
import { selectBackend } from '../app/runtime/backend';
import { syntheticSource } from '../app/train/synthetic';
import { MaeTrainer } from '../app/train/trainer';
import { BATCH_SIZE, findTorchPeer, timeTorchStep, vit192x4At64, vitTiny224 } from './peer/torch-step';
import { argument, flag } from './shared/options';

const SIZES: Record<string, () => MaeConfig> = {
  tiny: () => maeConfigFromParts('vit-tiny', 8, '128x2', { imgSize: 32, depth: 2, inChans: 3 }),
  small: vit192x4At64,
  'vit-tiny': vitTiny224,
};

async function timeWebGpu(model: MaeConfig, steps: number): Promise<number> {
  const trainer = MaeTrainer.create(
    { model, batchSize: BATCH_SIZE, totalSteps: 1000, warmupSteps: 0, seed: 0 },
    syntheticSource({ imgSize: model.imgSize, channels: model.inChans }),
  );
  try {
    await trainer.trainStep(); // compiles the pipelines
    const started = performance.now();
    // As a run trains: the loss stays on the GPU until the logging interval's one read (here the end);
    // the PyTorch peer reads it every step (`loss.item()`), as the reference engine_pretrain.py does.
    trainer.lossReads = { everySteps: steps, everyMs: Number.POSITIVE_INFINITY };
    for (let i = 0; i < steps; i++) await trainer.advance();
    await trainer.flushLosses();
    return (performance.now() - started) / steps;
  } finally {
    trainer.dispose();
  }
}

/** The same model's step in PyTorch on the GPU PyTorch finds (cuda, then mps, else cpu). */
function timeTorch(model: MaeConfig, steps: number) {
  const peer = findTorchPeer();
  return typeof peer === 'string' ? peer : timeTorchStep(peer, model, steps, { device: 'auto' });
}

async function main(): Promise<void> {
  const steps = Number(argument('steps') ?? 3);
  const json = flag('json');
  const selection = await selectBackend('webgpu', { log: () => undefined }); // throws, naming why, without an adapter
  const software = selection.adapter?.software ?? false;
  const size = argument('size') ?? (software ? 'tiny' : 'vit-tiny');
  const makeModel = SIZES[size];
  if (!makeModel) throw new Error(`--size must be one of ${Object.keys(SIZES).join(', ')}, got ${size}`);
  const model = makeModel();
  const webgpuMs = await timeWebGpu(model, steps);
  const torch = timeTorch(model, steps);
  const ratio = typeof torch === 'object' ? webgpuMs / torch.msPerStep : null;
  if (json) {
    console.log(
      JSON.stringify(
        {
          size,
          batch: BATCH_SIZE,
          webgpu: { device: selection.device, msPerStep: webgpuMs },
          torch,
          ratioWebGpuOverTorch: ratio,
        },
        null,
        2,
      ),
    );
    return;
  }
  console.log(`webgpu   ${size} batch ${BATCH_SIZE}: ${webgpuMs.toFixed(0)} ms/step on ${selection.device}`);
  if (typeof torch === 'string') {
    console.log(`pytorch  ${size}: ${torch}`);
    return;
  }
  console.log(
    `pytorch  ${size} batch ${BATCH_SIZE}: ${torch.msPerStep.toFixed(0)} ` +
      `ms/step on ${torch.deviceName} (torch ${torch.torch})`,
  );
  console.log(`ratio    webgpu / PyTorch = ${ratio!.toFixed(2)}×`);
  if (software || torch.device === 'cpu')
    console.log(
      'note: no GPU on one side here (software adapter or PyTorch on cpu): this ratio is not a GPU comparison',
    );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
