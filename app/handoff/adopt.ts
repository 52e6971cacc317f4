/**
 * `adopt`: brings a finished (or stopped) hand-off job back as a run of the project — its newest
 * checkpoint converted from the official layout to a studio checkpoint (weights and AdamW
 * moments, so it can be resumed, probed and exported), and its loss curve continuing the
 * parent run's. The new run's parent is the run that was handed off.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError } from '../contract';
import { RNG_STREAMS, Rng } from '../mae/rng';
import { paramSpecs } from '../mae/params';
import { officialShape, officialToOurs } from '../mae/weights/layouts';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../mae/weights/safetensors';
import { sha256File } from '../train/pretrain-plan';
import { recipePeakLr, storedTrainConfig } from '../train/config';
import { isVolume3dRun, typedRun } from '../train/run-records';
import { learningRateAt } from '../train/schedule';
import type { CheckpointMeta } from '../train/trainer-checkpoint';
import type { MetricPoint } from '../store/runs';
import { Workspace } from '../workspace';
import type { HandoffJob } from './handoff';

/** What adopting a job produced. */
export interface AdoptResult {
  runId: number;
  parentRunId: number;
  /** Step the job started from and the step of the adopted checkpoint. */
  startStep: number;
  step: number;
  /** First and last loss the job logged. */
  firstLoss: number | null;
  finalLoss: number | null;
  worldSize: number | null;
}

function readJob(dir: string): HandoffJob {
  const file = path.join(dir, 'handoff.json');
  if (!fs.existsSync(file))
    throw new StudioError('INVALID_ARGUMENT', `${dir} is not a hand-off folder (no handoff.json)`);
  const job = JSON.parse(fs.readFileSync(file, 'utf8')) as HandoffJob;
  if (job.format !== 'mae-studio-handoff')
    throw new StudioError('INVALID_ARGUMENT', `${file} is not a MAE Studio hand-off description`);
  return job;
}

function newestCheckpoint(dir: string): { file: string; step: number } {
  const out = path.join(dir, 'out');
  const found = (fs.existsSync(out) ? fs.readdirSync(out) : [])
    .map((name) => ({ name, match: /^checkpoint-(\d+)\.safetensors$/.exec(name) }))
    .filter((entry) => entry.match)
    .map((entry) => ({ file: path.join(out, entry.name), step: Number(entry.match![1]) }))
    .sort((a, b) => b.step - a.step);
  if (found.length === 0)
    throw new StudioError('INVALID_ARGUMENT', `${out} holds no checkpoint-<step>.safetensors: has the job run?`);
  return found[0]!;
}

function readMetrics(dir: string, afterStep: number, upToStep: number): MetricPoint[] {
  const file = path.join(dir, 'out', 'metrics.jsonl');
  if (!fs.existsSync(file)) return [];
  const points: MetricPoint[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as { step: number; train_loss: number; lr: number; time: number };
    if (row.step <= afterStep || row.step > upToStep) continue;
    points.push(
      { step: row.step, name: 'train_loss', value: row.train_loss, time: row.time },
      { step: row.step, name: 'lr', value: row.lr, time: row.time },
    );
  }
  // A restarted job appends again: the last value logged for a step wins.
  const latest = new Map(points.map((p) => [`${p.name}@${p.step}`, p]));
  return [...latest.values()].sort((a, b) => a.step - b.step);
}

/** Adopts the job in `dir` into `projectId` of the workspace. */
export async function adoptHandoff(workspaceDir: string, projectId: number, dir: string): Promise<AdoptResult> {
  const job = readJob(dir);
  const workspace = new Workspace(workspaceDir);
  try {
    workspace.projects.require(projectId);
    const parent = typedRun(workspace.runs.get(job.run.id));
    if (parent.projectId !== projectId) {
      throw new StudioError(
        'INVALID_ARGUMENT',
        `${dir} continues run ${job.run.id} of project ${parent.projectId}, not project ${projectId}`,
      );
    }
    if (parent.kind !== 'pretrain')
      throw new StudioError(
        'INVALID_ARGUMENT',
        `${dir} continues run ${job.run.id}, a ${parent.kind} run; only pretraining runs are handed off`,
      );
    if (isVolume3dRun(parent))
      throw new StudioError(
        'UNSUPPORTED',
        `${dir} continues run ${job.run.id}, a 3-D MAE run, which is not handed off`,
      );
    const plan = parent.config;
    const config = plan.recipe.model;
    const { file, step } = newestCheckpoint(dir);
    const { tensors: official, metadata } = await readSafetensors(file);

    const tensors = new Map<string, NamedTensor>();
    const missing: string[] = [];
    for (const spec of paramSpecs(config)) {
      for (const [prefix, target] of [
        ['', 'model.'],
        ['optimizer.m.', 'optimizer.m.'],
        ['optimizer.v.', 'optimizer.v.'],
      ] as const) {
        const tensor = official.get(`${prefix}${spec.name}`);
        if (!tensor) {
          missing.push(`${prefix}${spec.name}`);
          continue;
        }
        const expected = officialShape(spec.name, spec.shape, config);
        if (JSON.stringify(tensor.shape) !== JSON.stringify(expected)) {
          throw new StudioError(
            'INVALID_ARGUMENT',
            `${file}: ${prefix}${spec.name} has shape ${JSON.stringify(tensor.shape)}, ` +
              `run ${job.run.id} needs ${JSON.stringify(expected)}`,
          );
        }
        tensors.set(`${target}${spec.name}`, { shape: spec.shape, data: officialToOurs(spec.name, tensor, config) });
      }
    }
    if (missing.length)
      throw new StudioError(
        'INVALID_ARGUMENT',
        `${file} lacks ${missing.length} tensors the MAE ` +
          `needs: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
      );

    const worldSize = metadata.worldSize ? Number(metadata.worldSize) : null;
    const metrics = readMetrics(dir, job.startStep, step);
    const losses = metrics.filter((m) => m.name === 'train_loss');
    const run = workspace.runs.create({
      projectId,
      kind: 'pretrain',
      parentRunId: parent.id,
      config: { ...plan, adoptedFrom: { dir: path.resolve(dir), startStep: job.startStep, step, worldSize } },
    });
    const recipe = storedTrainConfig(plan.recipe);
    const schedule = {
      peakLr: recipePeakLr(recipe),
      minLr: plan.recipe.minLr,
      warmupSteps: plan.recipe.warmupSteps,
      totalSteps: plan.recipe.totalSteps,
    };
    const meta: CheckpointMeta = {
      format: 'mae-studio-checkpoint',
      version: 1,
      config: plan.recipe,
      step,
      optimizerStep: Number(metadata.optimizerStep ?? step),
      lastLoss: losses.at(-1)?.value ?? null,
      schedule: { ...schedule, nextLr: learningRateAt(step, schedule) },
      // Data order and masks of a resumed run start new streams: the job's own were torch's.
      rng: {
        data: Rng.fromSeed(plan.recipe.seed + step, RNG_STREAMS.data).state(),
        mask: Rng.fromSeed(plan.recipe.seed + step, RNG_STREAMS.mask).state(),
      },
    };
    const checkpointDir = path.join(workspace.projectDir(projectId), 'checkpoints');
    fs.mkdirSync(checkpointDir, { recursive: true });
    const target = path.join(checkpointDir, `run-${run.id}-step-${step}.safetensors`);
    await writeSafetensors(target, tensors, { studio: JSON.stringify(meta) });
    workspace.runs.addCheckpoint(run.id, step, target, sha256File(target));
    // The curve continues the parent's: its points up to the hand-off, then the job's.
    workspace.runs.appendMetrics(run.id, [
      ...workspace.runs.metrics(parent.id).filter((m) => m.step <= job.startStep),
      ...metrics,
    ]);
    const processes = worldSize ? ` · ${worldSize} process${worldSize > 1 ? 'es' : ''}` : '';
    const backend = `torchrun${processes}${metadata.torch ? ` · torch ${metadata.torch}` : ''}`;
    workspace.runs.setStatus(run.id, step >= plan.recipe.totalSteps ? 'completed' : 'stopped', { backend });
    return {
      runId: run.id,
      parentRunId: parent.id,
      startStep: job.startStep,
      step,
      firstLoss: losses[0]?.value ?? null,
      finalLoss: losses.at(-1)?.value ?? null,
      worldSize,
    };
  } finally {
    workspace.close();
  }
}
