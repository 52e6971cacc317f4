/**
 * What the training-step benchmarks (`bench/train.ts` on the CPU backends, `bench/gpu.ts` on
 * webgpu) share: the batch and model sizes they time, and their
 * PyTorch peer — the same architecture trained by `bench/mae_torch.py` in the same run, found,
 * started and read back here. In a folder of its own, so the build does not take it for a
 * benchmark.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAE_PRESETS, maeConfigFromParts, type MaeConfig } from '../../app/mae/config';
import { argument } from '../shared/options';

/** Images per optimizer step on both sides. */
export const BATCH_SIZE = 8;

/** ViT-Tiny/16 at 224 px with the paper's 512×8 decoder, 3 channels. */
export function vitTiny224(): MaeConfig {
  return MAE_PRESETS.maeVitTinyPatch16Dec512d8b({ inChans: 3 });
}

/** ViT 192d×4, patch 8 at 64 px, with the light 128×2 decoder, 3 channels. */
export function vit192x4At64(): MaeConfig {
  return maeConfigFromParts('vit-tiny', 8, '128x2', { imgSize: 64, depth: 4, inChans: 3 });
}

/** A Python with torch and the peer script it runs. */
export interface TorchPeer {
  python: string;
  script: string;
}

/** What the peer measured (`device` and `deviceName` name where it ran: cpu, cuda, mps). */
export interface TorchStepTime {
  msPerStep: number;
  torch: string;
  threads: number;
  device: string;
  deviceName: string;
}

/**
 * Finds bench/mae_torch.py (from the sources or dist/bench) and the first Python that imports
 * torch: `--python`, `MAE_BENCH_PYTHON`, the PATH's python3, Debian's. A string says why not.
 */
export function findTorchPeer(): TorchPeer | string {
  const here = dirname(fileURLToPath(import.meta.url));
  const script = [
    resolve('bench/mae_torch.py'),
    join(here, 'mae_torch.py'),
    join(here, '../../bench/mae_torch.py'),
  ].find(existsSync);
  if (!script) return 'bench/mae_torch.py not found';
  const candidates = [argument('python'), process.env.MAE_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter(
    (candidate): candidate is string => Boolean(candidate),
  );
  const python = candidates.find(
    (candidate) => spawnSync(candidate, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
  );
  return python
    ? { python, script }
    : `no Python with torch among ${candidates.join(', ')} (apt-get install python3-torch)`;
}

/**
 * Times `steps` PyTorch steps of `model` at {@link BATCH_SIZE} after one warm-up step, on
 * `threads` CPU threads (the script's 2 when not given) or on `device` (`auto`: cuda, then mps,
 * else cpu). A string says why it could not.
 */
export function timeTorchStep(
  peer: TorchPeer,
  model: MaeConfig,
  steps: number,
  options: { threads?: number; device?: 'cpu' | 'auto' } = {},
): TorchStepTime | string {
  const args = [
    peer.script,
    '--img',
    model.imgSize,
    '--patch',
    model.patchSize,
    '--chans',
    model.inChans,
    '--dim',
    model.embedDim,
    '--depth',
    model.depth,
    '--heads',
    model.numHeads,
    '--dec-dim',
    model.decoderEmbedDim,
    '--dec-depth',
    model.decoderDepth,
    '--dec-heads',
    model.decoderNumHeads,
    '--batch',
    BATCH_SIZE,
    '--steps',
    steps,
    '--warmup',
    1,
    ...(options.threads === undefined ? [] : ['--threads', options.threads]),
    ...(options.device === undefined ? [] : ['--device', options.device]),
  ].map(String);
  const run = spawnSync(peer.python, args, { encoding: 'utf8' });
  if (run.status !== 0) return `PyTorch peer failed: ${run.stderr.trim().split('\n').at(-1)}`;
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as TorchStepTime;
}
