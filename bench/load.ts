/**
 * Load benchmark: a workspace the size a busy lab reaches — 100,000 images in 100 labelled
 * folders (1% failed, 1% duplicates) and 50 runs, one of them 200,000 steps long with train
 * loss, learning rate and a validation loss every 100 steps — opened and browsed through the
 * same dispatcher the UI's calls go through (argument validation included). Rows are written straight into SQLite (no
 * pixels are decoded), so what is timed is the store and the services, not the import.
 *
 * Timed, each as the median of several repetitions and compared with its target:
 *  - open: a Studio on the workspace, the project list, the first grid page, the label counts and
 *    the run list (what the app does before the first paint of a project), target 2 s;
 *  - scroll: grid pages of 200 at offsets spread over the whole project, target 100 ms a page
 *    (a frame the user would notice as a stall is ~100 ms);
 *  - filter: a label, a search, a sort by size, the failed files, each first page, target 100 ms;
 *  - metrics: the 200,000-step run's three curves downsampled for the chart, target 250 ms.
 *
 *   node dist/bench/load.js [--images N] [--steps N] [--repeat N] [--json] [--keep]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDispatcher } from '../app/rpc';
import { Studio } from '../app/studio';
import { Workspace } from '../app/workspace';
import type { NewImage } from '../app/store/images';
import { buildPretrainPlan } from '../app/train/pretrain-plan';

interface Options {
  images: number;
  steps: number;
  repeat: number;
  json: boolean;
  /** Keep the generated workspace (its path is printed) to look into it. */
  keep: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string, fallback: number) => {
    const index = argv.indexOf(name);
    const parsed = index >= 0 ? Number(argv[index + 1]) : fallback;
    if (!Number.isInteger(parsed) || parsed < 1)
      throw new Error(`${name} must be a positive integer, got ${argv[index + 1]}`);
    return parsed;
  };
  return {
    images: value('--images', 100_000),
    steps: value('--steps', 200_000),
    repeat: value('--repeat', 5),
    json: argv.includes('--json'),
    keep: argv.includes('--keep'),
  };
}

const FOLDERS = 100;
const RUNS = 50;

/** Builds the workspace: images, 49 short runs and one long one. Returns the project and long run ids. */
function build(dir: string, options: Options): { projectId: number; longRunId: number; seconds: number } {
  const started = performance.now();
  const workspace = new Workspace(dir);
  try {
    const projectId = workspace.projects.create('Load test', 'microscopy').id;
    const batch: NewImage[] = [];
    const flush = () => {
      workspace.images.insertMany(batch);
      batch.length = 0;
    };
    for (let i = 0; i < options.images; i++) {
      const folder = i % FOLDERS;
      const failed = i % 100 === 37;
      const hash = i % 100 === 59 ? `dup-${i - 1}` : `h${i}`;
      batch.push({
        projectId,
        path: `/data/cells/label-${String(folder).padStart(3, '0')}/img-${String(i).padStart(6, '0')}.tif`,
        sha256: failed ? null : hash,
        sizeBytes: 100_000 + (i % 5000) * 31,
        mtimeMs: 1.7e12 + i,
        width: failed ? null : 512,
        height: failed ? null : 512,
        channels: failed ? null : 5,
        bitDepth: failed ? null : 16,
        format: 'tiff',
        label: `label-${String(folder).padStart(3, '0')}`,
        error: failed ? 'TIFF: strip 3 ends at byte 81,920, past the end of the 40,960-byte file' : null,
        stats: failed
          ? null
          : Array.from({ length: 5 }, (_, c) => ({ mean: 0.1 * (c + 1), std: 0.05, min: 0, max: 1 })),
        thumbnail: failed ? null : `thumbs/h${i}.jpg`,
        duplicateOf: null,
      });
      if (batch.length === 5000) flush();
    }
    flush();
    let longRunId = 0;
    // Real plans (each holds its split's image ids, as every run does).
    const plan = buildPretrainPlan(workspace, projectId, {
      imgSize: 64,
      patchSize: 16,
      depth: 4,
      decoder: '128x2',
      steps: options.steps,
      backend: 'cpu',
    });
    for (let r = 0; r < RUNS; r++) {
      const long = r === RUNS - 1;
      const run = workspace.runs.create({
        projectId,
        kind: 'pretrain',
        config: { ...plan, recipe: { ...plan.recipe, seed: r } },
      });
      const steps = long ? options.steps : 2000;
      for (let first = 1; first <= steps; first += 10_000) {
        const points = [];
        for (let step = first; step < first + 10_000 && step <= steps; step++) {
          const time = 1.7e9 + step;
          points.push({ step, name: 'train_loss', value: 1 / Math.sqrt(step) + 0.01 * Math.sin(step), time });
          points.push({ step, name: 'lr', value: 1.5e-4 * Math.min(1, step / 1000), time });
          if (step % 100 === 0) points.push({ step, name: 'val_loss', value: 1.1 / Math.sqrt(step), time });
        }
        workspace.runs.appendMetrics(run.id, points);
      }
      workspace.runs.setStatus(run.id, 'completed');
      if (long) longRunId = run.id;
    }
    return { projectId, longRunId, seconds: (performance.now() - started) / 1000 };
  } finally {
    workspace.close();
  }
}

/** Calls a contract method as a transport does; throws on an error reply. */
async function call(studio: Studio, channel: string, args: unknown[]): Promise<unknown> {
  const reply = await createDispatcher(studio.services)(channel, args);
  if (!reply.ok) throw new Error(`${channel}: ${reply.error.message}`);
  return reply.value;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(repeat: number, work: () => Promise<unknown> | unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return median(times);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-bench-load-'));
  try {
    const built = build(path.join(dir, 'ws'), options);
    const { projectId, longRunId } = built;
    const rows: { name: string; ms: number; targetMs: number }[] = [];

    // Open: a new Studio each time (a fresh database connection, as at app start).
    rows.push({
      name:
        `open: studio, projects, first grid page, labels, runs ` +
        `(${options.images.toLocaleString('en-US')} images, ${RUNS} runs)`,
      targetMs: 2000,
      ms: await timed(options.repeat, async () => {
        const studio = new Studio(path.join(dir, 'ws'));
        try {
          await call(studio, 'projects.list', []);
          await call(studio, 'images.list', [{ projectId, limit: 200 }]);
          await call(studio, 'images.labels', [projectId]);
          await call(studio, 'runs.list', [projectId]);
        } finally {
          await studio.close();
        }
      }),
    });

    const studio = new Studio(path.join(dir, 'ws'));
    try {
      const pages = Array.from({ length: 20 }, (_, i) => Math.floor(((i + 0.5) / 20) * (options.images - 200)));
      const pageTimes: number[] = [];
      for (const offset of pages)
        pageTimes.push(
          await timed(options.repeat, () => call(studio, 'images.list', [{ projectId, offset, limit: 200 }])),
        );
      rows.push({ name: 'scroll: a grid page of 200, median over 20 offsets', targetMs: 100, ms: median(pageTimes) });
      rows.push({ name: 'scroll: the slowest of those pages', targetMs: 100, ms: Math.max(...pageTimes) });
      const last = Math.max(0, options.images - 200);
      rows.push({
        name: 'scroll: the last page',
        targetMs: 100,
        ms: await timed(options.repeat, () => call(studio, 'images.list', [{ projectId, offset: last, limit: 200 }])),
      });
      rows.push({
        name: 'filter: one label',
        targetMs: 100,
        ms: await timed(options.repeat, () =>
          call(studio, 'images.list', [{ projectId, label: 'label-042', limit: 200 }]),
        ),
      });
      rows.push({
        name: 'filter: search "img-0999"',
        targetMs: 100,
        ms: await timed(options.repeat, () =>
          call(studio, 'images.list', [{ projectId, search: 'img-0999', limit: 200 }]),
        ),
      });
      rows.push({
        name: 'filter: sort by size',
        targetMs: 100,
        ms: await timed(options.repeat, () => call(studio, 'images.list', [{ projectId, sort: 'size', limit: 200 }])),
      });
      rows.push({
        name: 'filter: failed files',
        targetMs: 100,
        ms: await timed(options.repeat, () =>
          call(studio, 'images.list', [{ projectId, status: 'failed', limit: 200 }]),
        ),
      });
      rows.push({
        name: `metrics: ${options.steps.toLocaleString('en-US')}-step run, 3 curves downsampled to 4,000 points`,
        targetMs: 250,
        ms: await timed(options.repeat, () =>
          call(studio, 'runs.metrics', [longRunId, { names: ['train_loss', 'val_loss', 'lr'], maxPoints: 4000 }]),
        ),
      });
    } finally {
      await studio.close();
    }

    if (options.json) {
      console.log(
        JSON.stringify(
          { images: options.images, runs: RUNS, steps: options.steps, buildSeconds: built.seconds, rows },
          null,
          2,
        ),
      );
      return;
    }
    console.log(
      `workspace: ${options.images.toLocaleString('en-US')} images, ${RUNS} runs ` +
        `(one of ${options.steps.toLocaleString('en-US')} steps), built in ${built.seconds.toFixed(1)} s`,
    );
    console.log(`${'what'.padEnd(84)} ${'median'.padStart(10)} ${'target'.padStart(8)}  of target`);
    for (const row of rows) {
      const ratio = row.ms / row.targetMs;
      console.log(
        `${row.name.padEnd(84)} ${`${row.ms.toFixed(1)} ms`.padStart(10)} ${`${row.targetMs} ms`.padStart(8)} ` +
          ` ${ratio.toFixed(2)}× ${ratio <= 1 ? 'ok' : 'OVER'}`,
      );
    }
  } finally {
    if (options.keep) console.log(`kept: ${path.join(dir, 'ws')}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
