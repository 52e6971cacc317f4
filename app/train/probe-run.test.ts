/**
 * Probing a pretraining run as users do: a probe run (parent = the pretraining run) scores the
 * pretrained encoder and its random initialisation the same way on the val split.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudioError } from '../contract';
import { executeProbe, planProbe, validateProbeOptions, type ProbeReport } from './probe-run';
import { pretrainedFixture, type PretrainedFixture } from './probe-testing';

let fixture: PretrainedFixture;
beforeAll(async () => { fixture = await pretrainedFixture(); }, 120_000);
afterAll(() => fixture?.remove());

function checkScores(report: ProbeReport) {
  for (const scores of [report.pretrained, report.randomInit]) {
    expect(scores.accuracy).toBeGreaterThanOrEqual(0);
    expect(scores.accuracy).toBeLessThanOrEqual(1);
    expect(scores.confusion.flat().reduce((a, b) => a + b, 0)).toBe(report.valImages);
    const correct = scores.confusion.reduce((sum, row, k) => sum + row[k]!, 0);
    expect(scores.accuracy).toBeCloseTo(correct / report.valImages, 10);
    expect(scores.perClass.map((c) => c.support)).toEqual(scores.confusion.map((row) => row.reduce((a, b) => a + b, 0)));
  }
}

describe('a probe run', () => {
  for (const method of ['linear', 'knn'] as const) {
    it(`${method}: stores both scores on the val split as the run's result, with the pretraining run as parent`, async () => {
      const runId = fixture.open((w) => planProbe(w, fixture.runId, { method, k: 5, backend: 'cpu' }));
      const report = await executeProbe(fixture.workspaceDir, runId);
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
      expect(metrics.map((m) => m.name).sort()).toEqual(['val_accuracy', 'val_accuracy_random_init']);
    });
  }

  it('fits on a seeded label budget when asked: at most N images per class, the same draw every time, scored on the whole val split', async () => {
    const plan = () => fixture.open((w) => planProbe(w, fixture.runId, { labelsPerClass: 3, backend: 'cpu' }));
    const first = await executeProbe(fixture.workspaceDir, plan());
    expect(first).toMatchObject({ labelsPerClass: 3, trainImages: 6, valImages: 6 });
    checkScores(first);
    const second = await executeProbe(fixture.workspaceDir, plan());
    expect(second.pretrained).toEqual(first.pretrained);
    expect(second.randomInit).toEqual(first.randomInit);
    // A budget above the split's size fits on every label, as no budget does.
    const all = await executeProbe(fixture.workspaceDir, fixture.open((w) => planProbe(w, fixture.runId, { labelsPerClass: 1000, backend: 'cpu' })));
    expect(all.trainImages).toBe(18);
  });

  it('probes deterministically: the same run probed twice scores the same', async () => {
    const first = await executeProbe(fixture.workspaceDir, fixture.open((w) => planProbe(w, fixture.runId, { backend: 'cpu' })));
    const second = await executeProbe(fixture.workspaceDir, fixture.open((w) => planProbe(w, fixture.runId, { backend: 'cpu' })));
    expect(second.pretrained).toEqual(first.pretrained);
    expect(second.randomInit).toEqual(first.randomInit);
  });

  it('refuses bad options and runs that cannot be probed, naming what is wrong', () => {
    expect(() => validateProbeOptions({ method: 'svm' as 'linear' })).toThrow(/probe.method must be linear or knn, got "svm"/);
    expect(() => validateProbeOptions({ k: 0 })).toThrow(/probe.k must be a positive integer/);
    expect(() => validateProbeOptions({ labelsPerClass: 2.5 })).toThrow(/probe.labelsPerClass must be a positive integer or null \(every label\), got 2.5/);
    expect(() => fixture.open((w) => planProbe(w, 999, {}))).toThrow(/no run with id 999/);
    const probeId = fixture.open((w) => planProbe(w, fixture.runId, {}));
    expect(() => fixture.open((w) => planProbe(w, probeId, {}))).toThrow(StudioError);
    const queued = fixture.open((w) => w.runs.create({ projectId: fixture.projectId, kind: 'pretrain', config: {} }).id);
    expect(() => fixture.open((w) => planProbe(w, queued, {}))).toThrow(/has no checkpoint yet/);
  });
});
