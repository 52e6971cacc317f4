/**
 * Estimate honesty: the new-run dialog's time estimate against the run's real wall-clock time,
 * through the same services the dialog calls (`training.estimate`, then `training.start` in a
 * training process). Prints where the real time went (plain steps, validation, checkpoint and
 * grid steps, start-up) and, with `--timeline FILE`, writes the run's step times as seen by the
 * UI (seconds since Start) — the sequence the ETA tests replay.
 *
 *   node dist/bench/estimate.js [--count 40] [--epochs 2] [--img 224] [--patch 16] [--depth 12] [--decoder 512x8]
 * [--batch 8] [--backend auto] [--timeline FILE] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Recipe, TrainingProgress } from '../app/contract';
import { writeSample } from '../app/data/synthetic/datasets';
import { Studio } from '../app/studio';
import { argument, flag } from './shared/options';

async function main(): Promise<void> {
  const count = Number(argument('count', '40'));
  const recipe: Recipe = {
    imgSize: Number(argument('img', '224')),
    patchSize: Number(argument('patch', '16')),
    depth: Number(argument('depth', '12')),
    decoder: argument('decoder', '512x8'),
    batchSize: Number(argument('batch', '8')),
    epochs: Number(argument('epochs', '2')),
    backend: argument('backend', 'auto') as Recipe['backend'],
    seed: 1,
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-estimate-'));
  const studio = new Studio(path.join(dir, 'ws'));
  try {
    const sample = await writeSample(path.join(dir, 'sample'), { domain: 'microscopy', count, seed: 1 });
    const projectId = studio.workspace.projects.create('Estimate', 'microscopy').id;
    await studio.runImport('estimate', projectId, [sample.dir]);
    const check = await studio.services.training.check(projectId, recipe);
    const estimate = await studio.services.training.estimate(projectId, recipe);

    const steps: { step: number; seconds: number; validation?: boolean; checkpoint?: boolean }[] = [];
    let startedAt = 0;
    const finished = new Promise<void>((resolve, reject) => {
      studio.events.on('trainingProgress', (event: TrainingProgress) => {
        const seconds = (performance.now() - startedAt) / 1000;
        if (event.type === 'step') steps.push({ step: event.step, seconds });
        else if (event.type === 'validation') steps.at(-1)!.validation = true;
        else if (event.type === 'checkpoint' && steps.length) steps.at(-1)!.checkpoint = true;
      });
      studio.events.on('runChanged', (event) => {
        if (event.status === 'completed' && !event.active) resolve();
        else if (event.status === 'failed' || event.status === 'interrupted')
          reject(new Error(event.error ?? event.status));
      });
    });
    startedAt = performance.now();
    await studio.services.training.start(projectId, recipe);
    await finished;
    const realSeconds = (performance.now() - startedAt) / 1000;

    // Where the time went: the gap before step s+1 holds step s's validation / grid / checkpoint.
    const gaps = steps.slice(1).map((entry, i) => ({ seconds: entry.seconds - steps[i]!.seconds, after: steps[i]! }));
    const plain = gaps
      .filter((gap) => !gap.after.validation && !gap.after.checkpoint)
      .map((gap) => gap.seconds)
      .sort((a, b) => a - b);
    const median = plain[Math.floor(plain.length / 2)] ?? 0;
    const report = {
      recipe,
      totalSteps: check.totalSteps,
      stepsPerEpoch: check.stepsPerEpoch,
      estimate,
      estimateSeconds: estimate.time.seconds,
      // What the dialog said before the estimate counted start-up, validation and checkpoints.
      stepsOnlySeconds: (estimate.msPerStep * (check.totalSteps ?? 0)) / 1000,
      realSeconds,
      ratio: realSeconds / estimate.time.seconds,
      parts: estimate.time.parts,
      firstStepSeconds: steps[0]?.seconds ?? 0,
      medianPlainStepSeconds: median,
      plainStepsSeconds: plain.reduce((a, b) => a + b, 0),
      eventfulStepsSeconds: gaps
        .filter((gap) => gap.after.validation || gap.after.checkpoint)
        .reduce((a, b) => a + b.seconds, 0),
      tailSeconds: realSeconds - (steps.at(-1)?.seconds ?? 0),
    };
    const timeline = argument('timeline', '');
    if (timeline) {
      const { estimateSeconds } = report;
      const record = {
        recipe,
        backend: estimate.backend,
        cpus: os.cpus().length,
        totalSteps: check.totalSteps,
        estimateSeconds,
        realSeconds,
        steps,
      };
      fs.writeFileSync(timeline, `${JSON.stringify(record)}\n`);
    }
    if (flag('json')) {
      console.log(JSON.stringify(report, null, 2));
      return;
    }
    const parts = Object.entries(estimate.time.parts)
      .map(([name, seconds]) => `${name} ${seconds.toFixed(1)} s`)
      .join(', ');
    console.log(
      `estimate: ${report.estimateSeconds.toFixed(1)} s (${parts}; steps only: ` +
        `${report.stepsOnlySeconds.toFixed(1)} s) on ${estimate.backend}; ` +
        `real ${realSeconds.toFixed(1)} s (×${report.ratio.toFixed(2)})`,
    );
    console.log(
      `  until the first step ${report.firstStepSeconds.toFixed(1)} s; plain steps ` +
        `${report.plainStepsSeconds.toFixed(1)} s (median ${(median * 1000).toFixed(0)} ms); steps with ` +
        `validation/checkpoint ${report.eventfulStepsSeconds.toFixed(1)} ` +
        `s; after the last step ${report.tailSeconds.toFixed(1)} s`,
    );
  } finally {
    await studio.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
