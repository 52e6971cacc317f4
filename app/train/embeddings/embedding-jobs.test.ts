/**
 * The embeddings service's heavy work in its worker thread (the `embedding-worker.js` the unit
 * tests' global setup builds beside the CLI): the same answers as on this thread, this thread
 * free to answer other calls while it works, and a stop that stops it.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runEmbeddingJob, runJobHere } from './embedding-jobs';
import { unitRows } from './neighbours';
import { seededRandom } from './projection';

const WORKER = path.resolve(import.meta.dirname, '../../../dist/cli/embedding-worker.js');

/** `rows` unit rows around `classes` centres, labelled by their centre (every 7th one mislabelled). */
function labelledRows(rows: number, width: number, classes: number) {
  const random = seededRandom(11);
  const centres = Array.from({ length: classes }, () => Array.from({ length: width }, () => random() * 2 - 1));
  const values = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++)
    for (let d = 0; d < width; d++) values[r * width + d] = centres[r % classes]![d]! + (random() - 0.5) * 1.2;
  const labels = Array.from({ length: rows }, (_, r) => (r % 7 === 0 ? (r + 1) % classes : r % classes));
  return { unit: unitRows(values, rows, width), labels };
}

describe('embedding jobs in the worker thread', () => {
  const { unit, labels } = labelledRows(3000, 64, 4);

  it('finds the same suspects as this thread, while this thread keeps answering', async () => {
    let gap = 0;
    let ticks = 0;
    let running = true;
    const started = performance.now();
    const job = runEmbeddingJob({ task: 'suspects', unit, labels, classes: 4, k: 10 }, WORKER).finally(() => {
      running = false;
    });
    for (let last = performance.now(); running; ) {
      await sleep(5);
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
      ticks += 1;
    }
    const inWorker = await job;
    const seconds = (performance.now() - started) / 1000;
    const here = await runJobHere({ task: 'suspects', unit, labels, classes: 4, k: 10 });
    expect(inWorker.labelErrors.map((s) => s.row)).toEqual(here.labelErrors.map((s) => s.row));
    expect(inWorker.outliers.map((s) => s.row)).toEqual(here.outliers.map((s) => s.row));
    expect(inWorker.labelErrors.length).toBeGreaterThan(300); // most of the 429 mislabelled rows
    // This thread answered a timer all along: its longest wait is a small part of the job's time.
    expect(ticks).toBeGreaterThan(5);
    expect(gap / 1000).toBeLessThan(seconds / 2);
  }, 60_000);

  it('measures the median nearest-neighbour distance as this thread does', async () => {
    const small = labelledRows(300, 16, 3).unit;
    const inWorker = await runEmbeddingJob({ task: 'median', unit: small }, WORKER);
    expect(inWorker).toBeCloseTo(await runJobHere({ task: 'median', unit: small }), 6);
  }, 30_000);

  it('stops when asked, saying so', async () => {
    const controller = new AbortController();
    const job = runEmbeddingJob({ task: 'suspects', unit, labels, classes: 4, k: 10 }, WORKER, controller.signal);
    controller.abort();
    await expect(job).rejects.toThrow('finding the suspect images was stopped');
  });

  it('fails with a clear error when the worker cannot run', async () => {
    await expect(
      runEmbeddingJob({ task: 'median', unit }, path.join(import.meta.dirname, 'no-such-worker.js')),
    ).rejects.toThrow(/measuring nearest-neighbour distances failed/);
  });
});
