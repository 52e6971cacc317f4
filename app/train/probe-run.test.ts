/**
 * Probing a pretraining run as users do: a probe run (parent = the pretraining run) scores the
 * pretrained encoder, its random initialisation and the raw pixels the same way on the val
 * split, with intervals, the block probed and warnings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioError } from '../contract';
import { executeProbe, planProbe, validateProbeOptions, type ProbeReport } from './probe-run';
import { pretrainedFixture, TINY_PRETRAIN, type PretrainedFixture } from './probe.fixtures';

let fixture: PretrainedFixture;
/** The linear probe of the first test, to check a second probe against (one probe less to run). */
let firstLinear: ProbeReport | undefined;
// Two blocks, so "best" has a choice to make.
beforeAll(async () => {
  fixture = await pretrainedFixture({ ...TINY_PRETRAIN, depth: 2 });
}, 120_000);
afterAll(() => fixture?.remove());

function checkScores(report: ProbeReport) {
  for (const scores of [report.pretrained, report.randomInit, report.rawPixels!]) {
    expect(scores.accuracy).toBeGreaterThanOrEqual(0);
    expect(scores.accuracy).toBeLessThanOrEqual(1);
    expect(scores.images).toBe(report.valImages);
    expect(scores.interval!.low).toBeLessThanOrEqual(scores.accuracy);
    expect(scores.interval!.high).toBeGreaterThanOrEqual(scores.accuracy);
    expect(scores.interval!.high - scores.interval!.low).toBeGreaterThan(0.3); // 6 images: wide
    expect(scores.confusion.flat().reduce((a, b) => a + b, 0)).toBe(report.valImages);
    const correct = scores.confusion.reduce((sum, row, k) => sum + row[k]!, 0);
    expect(scores.accuracy).toBeCloseTo(correct / report.valImages, 10);
    expect(scores.perClass.map((c) => c.support)).toEqual(
      scores.confusion.map((row) => row.reduce((a, b) => a + b, 0)),
    );
  }
  // The gains are paired differences on the same images.
  expect(report.gain!.randomInit.estimate).toBeCloseTo(report.pretrained.accuracy - report.randomInit.accuracy, 10);
  expect(report.gain!.rawPixels.estimate).toBeCloseTo(report.pretrained.accuracy - report.rawPixels!.accuracy, 10);
  for (const gain of [report.gain!.randomInit, report.gain!.rawPixels]) {
    expect(gain.low).toBeLessThanOrEqual(gain.estimate);
    expect(gain.high).toBeGreaterThanOrEqual(gain.estimate);
  }
  expect(report.rawPixelSide).toBe(16); // 32 px images: 16 × 16 cells of 2 × 2
  // 3 validation images per class: each class is named as too small to score per class.
  for (const label of report.classes)
    expect(report.warnings).toContain(
      `Class '${label}' has 3 validation images; accuracy per class is unreliable below ~10.`,
    );
}

describe('a probe run', () => {
  for (const method of ['linear', 'knn'] as const) {
    it(`${method}: stores both scores on the val split as the run's result, pretraining run as parent`, async () => {
      const runId = fixture.open((w) => planProbe(w, fixture.runId, { method, k: 5, backend: 'cpu' }));
      const report = await executeProbe(fixture.workspaceDir, runId);
      if (method === 'linear') firstLinear = report;
      expect(report.classes).toEqual(['ring-lesion', 'round-lesion']);
      expect(report.valImages).toBe(6); // 25% of 12 per label
      expect(report.trainImages).toBe(18);
      expect(report.k).toBe(method === 'knn' ? 5 : null);
      expect(report.labelsPerClass).toBeNull();
      checkScores(report);
      const run = fixture.open((w) => w.runs.get(runId));
      expect(run).toMatchObject({ kind: 'probe', status: 'completed', parentRunId: fixture.runId });
      expect(run.backend).toMatch(/^cpu · /);
      expect(run.result).toEqual(JSON.parse(JSON.stringify(report)));
      const metrics = fixture.open((w) => w.runs.metrics(runId));
      expect(metrics.map((m) => m.name).sort()).toEqual([
        'val_accuracy',
        'val_accuracy_random_init',
        'val_accuracy_raw_pixels',
      ]);
      // The default block is the best of both, chosen by cross-validation on the 18 training images.
      expect(report.block).toMatchObject({
        requested: 'best',
        depth: 2,
        selectedBy: '3-fold cross-validation within the 18 fitted training images',
      });
      expect(report.block!.selection!.map((s) => s.block)).toEqual([1, 2]);
      const best = Math.max(...report.block!.selection!.map((s) => s.accuracy));
      expect(report.block!.selection!.find((s) => s.block === report.block!.chosen)!.accuracy).toBe(best);
    });
  }

  it('probes the block asked for, the same for both encoders, and refuses a block the encoder lacks', async () => {
    const first = await executeProbe(
      fixture.workspaceDir,
      fixture.open((w) => planProbe(w, fixture.runId, { block: 1, backend: 'cpu' })),
    );
    expect(first.block).toEqual({ requested: 1, chosen: 1, depth: 2, selection: null, selectedBy: null });
    const last = await executeProbe(
      fixture.workspaceDir,
      fixture.open((w) => planProbe(w, fixture.runId, { block: 2, backend: 'cpu' })),
    );
    expect(last.block!.chosen).toBe(2);
    // The raw pixels do not depend on the block; the encoders do.
    expect(last.rawPixels).toEqual(first.rawPixels);
    expect(() => fixture.open((w) => planProbe(w, fixture.runId, { block: 3 }))).toThrow(
      /probe.block must be 1..2 \(run \d+'s encoder has 2 blocks\) or "best", got 3/,
    );
    expect(() => validateProbeOptions({ block: 0 })).toThrow(
      /probe.block must be a block number \(1 = the first\) or "best", got 0/,
    );
  });

  it('warns when k exceeds the smallest class the kNN is fitted on', async () => {
    const report = await executeProbe(
      fixture.workspaceDir,
      fixture.open((w) => planProbe(w, fixture.runId, { method: 'knn', k: 5, labelsPerClass: 3, backend: 'cpu' })),
    );
    expect(
      report.warnings!.some((w) =>
        /^k = 5 exceeds the smallest class of the fitted images \('[a-z-]+' has 3\).*choose k ≤ 3\.$/.test(w),
      ),
    ).toBe(true);
  });

  it('fits on a seeded label budget: at most N images per class, the same draw each time, scored on val', async () => {
    const plan = () => fixture.open((w) => planProbe(w, fixture.runId, { labelsPerClass: 3, backend: 'cpu' }));
    const first = await executeProbe(fixture.workspaceDir, plan());
    expect(first).toMatchObject({ labelsPerClass: 3, trainImages: 6, valImages: 6 });
    checkScores(first);
    const second = await executeProbe(fixture.workspaceDir, plan());
    expect(second.pretrained).toEqual(first.pretrained);
    expect(second.randomInit).toEqual(first.randomInit);
    // A budget above the split's size fits on every label, as no budget does.
    const all = await executeProbe(
      fixture.workspaceDir,
      fixture.open((w) => planProbe(w, fixture.runId, { labelsPerClass: 1000, backend: 'cpu' })),
    );
    expect(all.trainImages).toBe(18);
  });

  it('probes deterministically: the same run probed twice scores the same', async () => {
    // The first test's linear probe had the same options (k plays no part in a linear probe).
    const first =
      firstLinear ??
      (await executeProbe(
        fixture.workspaceDir,
        fixture.open((w) => planProbe(w, fixture.runId, { backend: 'cpu' })),
      ));
    const second = await executeProbe(
      fixture.workspaceDir,
      fixture.open((w) => planProbe(w, fixture.runId, { backend: 'cpu' })),
    );
    expect(second.pretrained).toEqual(first.pretrained);
    expect(second.randomInit).toEqual(first.randomInit);
    expect(second.rawPixels).toEqual(first.rawPixels);
    expect(second.gain).toEqual(first.gain); // seeded bootstrap
    expect(second.block).toEqual(first.block); // seeded folds
  });

  it('refuses bad options and runs that cannot be probed, naming what is wrong', () => {
    expect(() => validateProbeOptions({ method: 'svm' as 'linear' })).toThrow(
      /probe.method must be linear or knn, got "svm"/,
    );
    expect(() => validateProbeOptions({ k: 0 })).toThrow(/probe.k must be a positive integer/);
    expect(() => validateProbeOptions({ labelsPerClass: 2.5 })).toThrow(
      /probe.labelsPerClass must be a positive integer or null \(every label\), got 2.5/,
    );
    expect(() => fixture.open((w) => planProbe(w, 999, {}))).toThrow(/no run with id 999/);
    const probeId = fixture.open((w) => planProbe(w, fixture.runId, {}));
    expect(() => fixture.open((w) => planProbe(w, probeId, {}))).toThrow(StudioError);
    const queued = fixture.open(
      (w) =>
        w.runs.create({ projectId: fixture.projectId, kind: 'pretrain', config: w.runs.get(fixture.runId).config }).id,
    ); // planned, never trained
    expect(() => fixture.open((w) => planProbe(w, queued, {}))).toThrow(/has no checkpoint yet/);
  });
});
