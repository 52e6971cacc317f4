/**
 * The live ETA, replayed on the step times of real runs (`eta-timelines.json`, recorded with
 * bench/estimate.ts): how far off it is, when it stops using the warm-up, and that it beats a
 * warm-up that was off by 2×.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunEta } from './eta';

interface Timeline {
  name: string;
  totalSteps: number;
  estimateSeconds: number;
  realSeconds: number;
  /** [step, seconds since Start when the UI heard of it] */
  steps: [number, number][];
}

const { runs } = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'eta-timelines.json'), 'utf8')) as {
  runs: Timeline[];
};

/** Replays a run: at each step, the ETA and the time that was really left until its last step. */
function replay(run: Timeline, warmup: { seconds: number; totalSteps: number } | null) {
  const eta = new RunEta(run.totalSteps, warmup);
  eta.start(0);
  const end = run.steps.at(-1)![1];
  return run.steps.map(([step, seconds]) => ({ step, ...eta.record(step, seconds), left: end - seconds }));
}

describe('RunEta on real runs', () => {
  it('has three recorded runs to replay', () => {
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const run of runs) expect(run.steps.at(-1)![0]).toBe(run.totalSteps);
  });

  it("uses the warm-up until 5% of the run (at least 3 steps) is timed, then the run's own pace", () => {
    for (const run of runs) {
      const points = replay(run, { seconds: run.estimateSeconds, totalSteps: run.totalSteps });
      const settle = Math.max(3, Math.ceil(0.05 * run.totalSteps));
      for (const point of points) {
        const measured = point.step - points[0]!.step;
        expect(point.basis, `${run.name} step ${point.step}`).toBe(measured >= settle ? 'run' : 'warm-up');
        if (point.basis === 'run') expect(point.measuredSteps).toBe(measured);
      }
    }
  });

  it('is off by less than a fifth of the run on average once settled, on a machine whose pace swings', () => {
    for (const run of runs) {
      const settled = replay(run, null).filter(
        (point) => point.measuredSteps >= Math.max(3, Math.ceil(0.05 * run.totalSteps)),
      );
      const errors = settled.map((point) => Math.abs(point.seconds - point.left) / run.realSeconds);
      const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
      expect(mean, run.name).toBeLessThan(0.2);
      // The last steps know almost all of the run: within 5% of it.
      expect(errors.at(-2)!, run.name).toBeLessThan(0.05);
    }
  });

  it('corrects a warm-up that said 1 min 45 s for a run that took more than 3 min', () => {
    const run = runs.find((candidate) => candidate.realSeconds > 1.8 * candidate.estimateSeconds)!;
    expect(run, 'a run whose warm-up was off by about 2×').toBeDefined();
    const points = replay(run, { seconds: run.estimateSeconds, totalSteps: run.totalSteps });
    const first = points.find((point) => point.basis === 'run')!;
    const warmupLeft = (run.estimateSeconds / run.totalSteps) * (run.totalSteps - first.step);
    // At the first corrected step, closer to the truth than the warm-up's pace would have been.
    expect(Math.abs(first.seconds - first.left)).toBeLessThan(Math.abs(warmupLeft - first.left));
  });

  it('counts nothing left after the last step, and never a negative time', () => {
    for (const run of runs) {
      const points = replay(run, null);
      expect(points.at(-1)!.seconds).toBe(0);
      expect(points.every((point) => point.seconds >= 0)).toBe(true);
    }
  });

  it('measures a resumed run from the step it resumed at', () => {
    const eta = new RunEta(100, null, 40);
    eta.start(0);
    expect(eta.record(41, 10)).toMatchObject({ basis: 'run', measuredSteps: 0, seconds: 59 * 10 });
    expect(eta.record(44, 13)).toMatchObject({ basis: 'run', measuredSteps: 3, seconds: 56 });
  });
});
