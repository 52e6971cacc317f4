/**
 * The PyTorch round trip as users make it: a run stopped in the studio is handed off, continued
 * by `torchrun --nproc_per_node 2` (CPU, gloo) with our training script, and adopted back as a
 * child run whose weights load and whose loss continues where the studio stopped.
 */
import { spawnSync } from 'node:child_process';
import { torchPython } from '../mae/torch-python.fixtures';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertRaster } from '../data/channel-conversion';
import { writeSample } from '../data/synthetic/datasets';
import { Studio } from '../studio';
import { planPretrain } from '../train/pretrain-plan';
import { executePretrain } from '../train/pretrain-run';
import { syntheticSource } from '../train/synthetic';
import { typedRun } from '../train/run-records';
import { MaeTrainer } from '../train/trainer';
import { Workspace } from '../workspace';
import { adoptHandoff } from './adopt';
import { writeHandoff } from './handoff';

const torchrun = ['torchrun', '/usr/bin/torchrun'].find(
  (c) => spawnSync(c, ['--help'], { stdio: 'ignore' }).status === 0,
);
const runTorch = torchrun !== undefined || process.env.CI === 'true';

let dir: string;
let workspaceDir: string;
let projectId: number;
let runId: number;
const STOP_AT = 30;

function read<T>(use: (workspace: Workspace) => T): T {
  const workspace = new Workspace(workspaceDir);
  try {
    return use(workspace);
  } finally {
    workspace.close();
  }
}

describe.skipIf(!runTorch)('handoff → torchrun → adopt', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-handoff-'));
    workspaceDir = path.join(dir, 'ws');
    const sample = await writeSample(path.join(dir, 'sample'), { domain: 'medical', count: 36, seed: 5 });
    const studio = new Studio(workspaceDir);
    projectId = studio.workspace.projects.create('CT', 'medical').id;
    await studio.runImport('test', projectId, [sample.dir]);
    runId = planPretrain(studio.workspace, projectId, {
      imgSize: 32,
      patchSize: 8,
      depth: 1,
      decoder: '32x1',
      batchSize: 4,
      steps: 60,
      warmupSteps: 3,
      blr: 0.05,
      seed: 11,
      backend: 'wasm',
    }).runId;
    await studio.close();
    const controller = new AbortController();
    const result = await executePretrain(workspaceDir, runId, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.type === 'step' && progress.step === STOP_AT) controller.abort();
      },
    });
    expect(result).toMatchObject({ status: 'stopped', step: STOP_AT });
  }, 180_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('continues a stopped run on 2 torchrun processes and adopts it back as a child run', async () => {
    const job = path.join(dir, 'job');
    const handed = await writeHandoff(workspaceDir, runId, job);
    expect(handed.step).toBe(STOP_AT);
    for (const file of ['handoff.json', 'manifest.json', 'weights.safetensors', 'train_mae.py', 'README.md'])
      expect(fs.existsSync(path.join(job, file)), file).toBe(true);

    // Debian's torch 1.13 on Python 3.11 mis-parses the default --redirects/--tee 0; 1 works everywhere.
    const run = spawnSync(
      torchrun ?? 'torchrun',
      ['--redirects', '1', '--tee', '1', '--nproc_per_node', '2', 'train_mae.py', '--steps', '6', '--workers', '0'],
      {
        cwd: job,
        encoding: 'utf8',
        env: { ...process.env, OMP_NUM_THREADS: '1' },
        timeout: 240_000,
      },
    );
    expect(run.status, run.stderr + run.stdout).toBe(0);

    const adopted = await adoptHandoff(workspaceDir, projectId, job);
    expect(adopted).toMatchObject({ parentRunId: runId, startStep: STOP_AT, step: STOP_AT + 6, worldSize: 2 });
    const { child, parentLosses, childLosses, checkpoint } = read((workspace) => ({
      child: workspace.runs.get(adopted.runId),
      parentLosses: workspace.runs.metrics(runId, 'train_loss').map((m) => m.value),
      childLosses: workspace.runs.metrics(adopted.runId, 'train_loss'),
      checkpoint: workspace.runs.latestCheckpoint(adopted.runId)!,
    }));
    expect(child).toMatchObject({
      parentRunId: runId,
      status: 'stopped',
      backend: expect.stringContaining('torchrun · 2 processes'),
    });
    // The curve is the parent's up to the hand-off, then the job's.
    expect(childLosses.map((m) => m.step)).toEqual(Array.from({ length: STOP_AT + 6 }, (_, i) => i + 1));

    // The loss continued from where the studio stopped, not from where it began.
    const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
    const began = mean(parentLosses.slice(0, 3));
    const stopped = mean(parentLosses.slice(-5));
    expect(began - stopped, 'the studio run should have learned something').toBeGreaterThan(0.05);
    expect(Math.abs(adopted.firstLoss! - stopped)).toBeLessThan(Math.abs(adopted.firstLoss! - began));

    // The adopted checkpoint resumes in the studio like any other.
    const trainer = await MaeTrainer.resume(checkpoint.path, syntheticSource({ imgSize: 32, channels: 1 }));
    expect(trainer.step).toBe(STOP_AT + 6);
    expect(Number.isFinite((await trainer.trainStep()).loss)).toBe(true);
    trainer.dispose();
  }, 300_000);

  it('continues a Deblurring MAE run: the job blurs each batch as the studio does', async () => {
    const deblurId = read(
      (workspace) =>
        planPretrain(workspace, projectId, {
          imgSize: 32,
          patchSize: 8,
          depth: 1,
          decoder: '32x1',
          batchSize: 4,
          steps: 20,
          warmupSteps: 2,
          blr: 0.05,
          seed: 12,
          backend: 'wasm',
          domainRecipe: 'deblur',
          blurSigma: 1.5,
        }).runId,
    );
    const controller = new AbortController();
    await executePretrain(workspaceDir, deblurId, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.type === 'step' && progress.step === 8) controller.abort();
      },
    });
    const job = path.join(dir, 'job-deblur');
    await writeHandoff(workspaceDir, deblurId, job);
    const run = spawnSync(
      torchrun ?? 'torchrun',
      ['--redirects', '1', '--tee', '1', '--nproc_per_node', '1', 'train_mae.py', '--steps', '3', '--workers', '0'],
      { cwd: job, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' }, timeout: 120_000 },
    );
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const adopted = await adoptHandoff(workspaceDir, projectId, job);
    expect(adopted).toMatchObject({ parentRunId: deblurId, startStep: 8, step: 11 });
    const parentLosses = read((workspace) => workspace.runs.metrics(deblurId, 'train_loss').map((m) => m.value));
    // Same recipe, same weights: the job's first loss is of the studio's last losses' size.
    const stopped = parentLosses.slice(-3).reduce((a, b) => a + b, 0) / 3;
    expect(Math.abs(adopted.firstLoss! - stopped)).toBeLessThan(0.5 * stopped);
    expect(read((workspace) => typedRun(workspace.runs.get(adopted.runId)))).toMatchObject({
      config: { recipe: { domainRecipe: { name: 'deblur', blurSigma: 1.5 } } },
    });
  }, 240_000);

  it('refuses to write a job into a folder that is not empty', async () => {
    const busy = path.join(dir, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'notes.txt'), 'mine');
    await expect(writeHandoff(workspaceDir, runId, busy)).rejects.toThrow(/busy is not empty/);
    expect(fs.readFileSync(path.join(busy, 'notes.txt'), 'utf8')).toBe('mine');
  });
});

describe.skipIf(!torchPython && process.env.CI !== 'true')("the torchrun job's channel conversions", () => {
  it('convert grey, RGBA and RGB exactly as the studio does', () => {
    const script = path.join(import.meta.dirname, 'torch');
    const cases = [
      { channels: 1, target: 3, conversion: 'repeat', values: [10, 200, 30, 40] },
      {
        channels: 4,
        target: 3,
        conversion: 'drop-alpha',
        values: Array.from({ length: 16 }, (_, index) => index * 13),
      },
      { channels: 3, target: 1, conversion: 'luminance', values: Array.from({ length: 12 }, (_, index) => index * 21) },
    ] as const;
    const code = `
import json, sys, torch
sys.path.insert(0, ${JSON.stringify(script)})
from train_mae import ManifestDataset
out = []
for case in json.load(sys.stdin):
    t = {"inputChannels": case["target"], "conversions": {str(case["channels"]): case["conversion"]},
         "bands": list(range(case["target"])), "clip": [None] * case["target"], "center": [0] * case["target"],
         "spread": [1] * case["target"]}
    dataset = ManifestDataset([], {"channels": case["target"], "transform": t}, 8, [])
    raw = torch.tensor(case["values"], dtype=torch.float32).view(2, 2, case["channels"]).permute(2, 0, 1)
    out.append(dataset.normalise({"path": "x"}, raw).permute(1, 2, 0).reshape(-1).tolist())
print(json.dumps(out))`;
    const result = spawnSync(torchPython ?? 'python3', ['-c', code], {
      input: JSON.stringify(cases),
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    const torchValues = JSON.parse(result.stdout) as number[][];
    cases.forEach((item, index) => {
      const raster = {
        width: 2,
        height: 2,
        bands: item.channels,
        sampleType: 'uint8' as const,
        values: Uint8Array.from(item.values),
      };
      const studio = Array.from(convertRaster(raster, item.conversion, item.target).values);
      expect(torchValues[index]!.length).toBe(studio.length);
      torchValues[index]!.forEach((value, at) => expect(value).toBeCloseTo(studio[at]!, 3));
    });
  });
});
