/**
 * Soak: trains on the medical sample for a wall-clock budget and reports whether memory stays
 * flat — process RSS and TF.js tensor bytes, sampled every step, compared between the first and
 * the last tenth of the run (after the first minute of warm-up). Meant to be run by hand for
 * hours (`--minutes 120`); a leak of a few KB a step shows as a steady climb.
 *
 *   node --expose-gc dist/bench/soak.js [--minutes M] [--backend auto|native|wasm|cpu] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSample } from '../app/data/synthetic/datasets';
import { Studio } from '../app/studio';
import { planPretrain } from '../app/train/pretrain-plan';
import { executePretrain } from '../app/train/pretrain-run';
import type { BackendPreference } from '../app/runtime/backend';
import { argument, flag } from './shared/options';

interface Sample {
  seconds: number;
  step: number;
  rssBytes: number;
  tensorBytes: number;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

async function main(): Promise<void> {
  const minutes = Number(argument('minutes', '10'));
  if (!(minutes > 0)) throw new Error(`--minutes must be positive, got ${argument('minutes', '')}`);
  const backend = argument('backend', 'auto') as BackendPreference;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-soak-'));
  try {
    const sample = await writeSample(path.join(dir, 'sample'), { domain: 'medical', count: 80, seed: 1 });
    const studio = new Studio(path.join(dir, 'ws'));
    const projectId = studio.workspace.projects.create('Soak', 'medical').id;
    await studio.runImport('soak', projectId, [sample.dir]);
    // More steps than the budget allows: the clock stops the run, with a checkpoint.
    const { runId } = planPretrain(studio.workspace, projectId, {
      imgSize: 64,
      patchSize: 16,
      depth: 4,
      decoder: '128x2',
      batchSize: 8,
      steps: 10_000_000,
      warmupSteps: 100,
      backend,
      seed: 1,
    });
    await studio.close();

    const samples: Sample[] = [];
    const started = performance.now();
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), minutes * 60_000);
    let backendName = '';
    const finished = await executePretrain(path.join(dir, 'ws'), runId, {
      signal: stop.signal,
      reconstructEvery: 500,
      log: () => {},
      onProgress: (progress) => {
        if (progress.type === 'started') backendName = `${progress.backend} · ${progress.device}`;
        // Every 10th step: enough for the shape of the curve, without the soak's own list growing much.
        if (progress.type === 'step' && progress.step % 10 === 0) {
          samples.push({
            seconds: (performance.now() - started) / 1000,
            step: progress.step,
            rssBytes: progress.rssBytes,
            tensorBytes: progress.tensorBytes,
          });
          if (samples.length % 1000 === 0 && !flag('json')) {
            console.log(
              `  ${(samples.at(-1)!.seconds / 60).toFixed(0)} min, step ${progress.step}: ` +
                `RSS ${mib(progress.rssBytes)}, tensors ${mib(progress.tensorBytes)}`,
            );
          }
        }
      },
    });
    clearTimeout(timer);

    const settled = samples.filter((s) => s.seconds > 60);
    const tenth = Math.max(1, Math.floor(settled.length / 10));
    const first = settled.slice(0, tenth);
    const last = settled.slice(-tenth);
    // RSS per tenth of the run (the curve's shape: a plateau or a climb) and the slope of its
    // second half by least squares, in MiB per hour.
    const tenths = Array.from({ length: 10 }, (_, i) =>
      mean(settled.slice(i * tenth, (i + 1) * tenth).map((s) => s.rssBytes)),
    );
    const half = settled.slice(Math.floor(settled.length / 2));
    const slope = (() => {
      const mx = mean(half.map((s) => s.seconds));
      const my = mean(half.map((s) => s.rssBytes));
      const sxy = half.reduce((sum, s) => sum + (s.seconds - mx) * (s.rssBytes - my), 0);
      const sxx = half.reduce((sum, s) => sum + (s.seconds - mx) ** 2, 0);
      return sxx > 0 ? ((sxy / sxx) * 3600) / 2 ** 20 : 0;
    })();
    const report = {
      backend: backendName,
      rssByTenth: tenths,
      rssSlopeSecondHalfMiBPerHour: slope,
      minutes,
      steps: samples.at(-1)?.step ?? 0,
      status: finished.status,
      rss: {
        firstTenth: mean(first.map((s) => s.rssBytes)),
        lastTenth: mean(last.map((s) => s.rssBytes)),
        max: Math.max(...samples.map((s) => s.rssBytes)),
      },
      tensors: {
        firstTenth: mean(first.map((s) => s.tensorBytes)),
        lastTenth: mean(last.map((s) => s.tensorBytes)),
        max: Math.max(...samples.map((s) => s.tensorBytes)),
      },
    };
    if (flag('json')) {
      console.log(JSON.stringify(report, null, 2));
      return;
    }
    const growth = (a: number, b: number) => `${(((b - a) / Math.max(1, a)) * 100).toFixed(1)}%`;
    console.log(`soak: ${report.steps} steps in ${minutes} min on ${report.backend} (${report.status})`);
    console.log(
      `  RSS      first tenth ${mib(report.rss.firstTenth)}  last tenth ${mib(report.rss.lastTenth)} ` +
        ` (${growth(report.rss.firstTenth, report.rss.lastTenth)})  max ${mib(report.rss.max)}`,
    );
    console.log(
      `  RSS by tenth of the run: ${tenths.map((t) => (t / 2 ** 20).toFixed(0)).join(' ')} ` +
        `MiB; second half ${slope >= 0 ? '+' : ''}${slope.toFixed(1)} MiB/hour`,
    );
    console.log(
      `  tensors  first tenth ${mib(report.tensors.firstTenth)}  last tenth ${mib(report.tensors.lastTenth)} ` +
        ` (${growth(report.tensors.firstTenth, report.tensors.lastTenth)})  max ${mib(report.tensors.max)}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
