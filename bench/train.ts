/**
 * Training-step benchmark: ms/step and images/s of the TF.js MAE on each available backend
 * (tfjs-node-gpu and webgpu where present, native, wasm, cpu), beside the same architecture in
 * PyTorch on the CPU (bench/mae_torch.py), printed as ours/PyTorch. bench/gpu.ts compares
 * webgpu with PyTorch on the same GPU.
 *
 *   node dist/bench/train.js [--backends cpu,wasm] [--steps 2] [--slow] [--json] [--threads N]
 *                            [--python /usr/bin/python3] [--no-torch] [--only @64]
 *
 * --threads N gives PyTorch and the native addon N threads each (default: PyTorch 2, the addon
 * MAE_STUDIO_THREADS or all cores), e.g. `npm run bench:train -- --threads 1`.
 * Configs: ViT-Tiny/16 @224 with the paper's 512×8 decoder, and ViT 192d×4/8 @64 with the
 * light 128×2 decoder; batch 8, 3 channels, synthetic images. The @224 config on the plain
 * cpu backend takes minutes per step, so it runs only with --slow.
 */
import type { MaeConfig } from '../app/mae/config';
import { BACKEND_ORDER, selectBackend, type BackendPreference } from '../app/runtime/backend';
import { loadNativeAddon } from '../app/runtime/native-addon';
import { syntheticSource } from '../app/train/synthetic';
import { MaeTrainer } from '../app/train/trainer';
import {
  BATCH_SIZE,
  findTorchPeer,
  timeTorchStep,
  type TorchStepTime,
  vit192x4At64,
  vitTiny224,
} from './peer/torch-step';
import { argument, flag } from './shared/options';

interface BenchConfig {
  name: string;
  model: MaeConfig;
  /** Too slow for the plain cpu backend unless --slow. */
  heavy: boolean;
}

const CONFIGS: BenchConfig[] = [
  { name: 'vit-tiny/16@224 dec512x8', model: vitTiny224(), heavy: true },
  { name: 'vit-192dx4/8@64 dec128x2', model: vit192x4At64(), heavy: false },
];

/** Times `steps` optimizer steps after `warmup` untimed ones. */
async function timeOurs(
  model: MaeConfig,
  steps: number,
  warmup: number,
  accumSteps: number,
): Promise<{ msPerStep: number; loss: number }> {
  const batchSize = BATCH_SIZE / accumSteps;
  const trainer = MaeTrainer.create(
    { model, batchSize, accumSteps, totalSteps: 1000, warmupSteps: 0, seed: 0 },
    syntheticSource({ imgSize: model.imgSize, channels: model.inChans }),
  );
  try {
    for (let i = 0; i < warmup; i++) await trainer.trainStep();
    const started = performance.now();
    let loss = Number.NaN;
    for (let i = 0; i < steps; i++) loss = (await trainer.trainStep()).loss;
    return { msPerStep: (performance.now() - started) / steps, loss };
  } finally {
    trainer.dispose();
  }
}

/** --threads N, validated; undefined when not given. */
function threadsArgument(): number | undefined {
  const value = argument('threads');
  if (value === undefined) return undefined;
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer, got ${value}`);
  return threads;
}

async function main(): Promise<void> {
  const steps = Number(argument('steps') ?? 2);
  const threads = threadsArgument();
  const backends = (argument('backends')?.split(',') ?? BACKEND_ORDER) as Exclude<BackendPreference, 'auto'>[];
  const only = argument('only'); // run only configs whose name contains this
  const configs = CONFIGS.filter((config) => !only || config.name.includes(only));
  const rows: Record<string, unknown>[] = [];
  const log = (line: string): void => {
    if (!flag('json')) console.log(line);
  };

  const peer = flag('no-torch') ? 'skipped (--no-torch)' : findTorchPeer();
  const torchTimes = new Map<string, TorchStepTime | string>();
  for (const config of configs) {
    const result =
      typeof peer === 'string'
        ? peer
        : timeTorchStep(peer, config.model, config.heavy ? 1 : steps, { threads: threads ?? 2 });
    torchTimes.set(config.name, result);
    if (typeof result === 'string') log(`pytorch  ${config.name}: ${result}`);
    else {
      const imagesPerSecond = ((BATCH_SIZE * 1000) / result.msPerStep).toFixed(2);
      log(
        `pytorch  ${config.name}: ${result.msPerStep.toFixed(0)} ms/step, ${imagesPerSecond}` +
          ` img/s (torch ${result.torch}, ${result.threads} threads)`,
      );
    }
  }
  for (const backend of backends) {
    let device: string;
    let softwareGpu = false;
    try {
      const selection = await selectBackend(backend, { log: () => undefined });
      device = selection.device;
      softwareGpu = selection.adapter?.software ?? false; // webgpu on a CPU rasteriser (llvmpipe)
    } catch (error) {
      log(`${backend}: ${(error as Error).message}`);
      rows.push({ backend, available: false, reason: (error as Error).message });
      continue;
    }
    let backendThreads: number | null = null;
    if (backend === 'native') {
      const load = loadNativeAddon();
      if (load.ok) {
        if (threads !== undefined) load.addon.setThreads(threads);
        backendThreads = load.addon.threads();
      }
    }
    for (const config of configs) {
      if (config.heavy && (backend === 'cpu' || softwareGpu) && !flag('slow')) {
        log(
          `${backend.padEnd(8)} ${config.name}: skipped ` +
            `(minutes per step on ${softwareGpu ? 'a software GPU' : 'plain JS'}; pass --slow)`,
        );
        rows.push({ backend, config: config.name, skipped: 'needs --slow' });
        continue;
      }
      // wasm's heap (2–4 GB) cannot hold batch 8 at 224 with the 512×8 decoder: same effective batch as 2 × 4.
      const accumSteps = config.heavy && backend === 'wasm' ? 2 : 1;
      // The heavy config times one step; it is warmed up first (as the PyTorch peer is) except on the
      // JS/wasm backends, where a step takes minutes and the first one costs little extra.
      const slowBackend = backend === 'cpu' || backend === 'wasm' || softwareGpu;
      const ours = await timeOurs(
        config.model,
        config.heavy ? 1 : steps,
        config.heavy && slowBackend ? 0 : 1,
        accumSteps,
      );
      const torch = torchTimes.get(config.name);
      const ratio = typeof torch === 'object' ? ours.msPerStep / torch.msPerStep : null;
      rows.push({
        backend,
        device,
        threads: backendThreads,
        config: config.name,
        batch: BATCH_SIZE,
        accumSteps,
        msPerStep: ours.msPerStep,
        imagesPerSecond: (BATCH_SIZE * 1000) / ours.msPerStep,
        loss: ours.loss,
        torchMsPerStep: typeof torch === 'object' ? torch.msPerStep : null,
        ratioOursOverTorch: ratio,
      });
      const imagesPerSecond = ((BATCH_SIZE * 1000) / ours.msPerStep).toFixed(2);
      log(
        `${backend.padEnd(8)} ${config.name}: ${ours.msPerStep.toFixed(0)} ms/step, ${imagesPerSecond} img/s` +
          (backendThreads === null ? '' : ` (${backendThreads} threads)`) +
          (accumSteps > 1 ? ` (as ${accumSteps}×${BATCH_SIZE / accumSteps} accumulated)` : '') +
          (ratio === null ? '' : `, ${ratio.toFixed(1)}× PyTorch`),
      );
    }
  }
  if (flag('json')) console.log(JSON.stringify({ batchSize: BATCH_SIZE, results: rows }, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
