/**
 * Relabel and reprobe: a probe run keeps its features, so after labels change by hand the probe
 * is re-fitted on them in well under a second, and the accuracy before and after (each with its
 * interval) differ exactly as the relabelled images say; undo brings the first numbers back.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewModelCard } from '../export/export-run';
import { probeFeaturesPath } from './probe-cache';
import { executeProbe, planProbe, type ProbeReport } from './probe-run';
import { pretrainedFixture, type PretrainedFixture } from './probe.fixtures';
import { reprobe } from './reprobe';

let fixture: PretrainedFixture;
let probeRunId: number;
let probed: ProbeReport;
beforeAll(async () => {
  fixture = await pretrainedFixture();
  probeRunId = fixture.open((w) => planProbe(w, fixture.runId, { method: 'linear', backend: 'cpu' }));
  probed = await executeProbe(fixture.workspaceDir, probeRunId);
}, 120_000);
afterAll(() => fixture?.remove());

const valIds = () =>
  fixture.open((w) => (w.runs.get(fixture.runId).config as { data: { valImageIds: number[] } }).data.valImageIds);

describe('reprobe', () => {
  it('re-fits to the very same scores while no label changed', async () => {
    const report = await fixture.openAsync((w) => reprobe(w, probeRunId));
    expect(report).toMatchObject({ probeRunId, method: 'linear', block: 1, relabelled: 0, notEncoded: 0, skipped: [] });
    expect(report.after.pretrained).toEqual(probed.pretrained);
    expect(report.after.randomInit).toEqual(probed.randomInit);
    expect(report.after.rawPixels).toEqual(probed.rawPixels);
    expect(report.before.pretrained).toEqual(probed.pretrained);
    expect(report.seconds).toBeLessThan(5);
  });

  it('scores relabelled validation images by their new label, and undo restores the probe', async () => {
    const val = valIds();
    const ring = fixture.open((w) =>
      w.images
        .sources(val)
        .filter((s) => s!.label === 'ring-lesion')
        .map((s) => s!.id),
    );
    expect(ring).toHaveLength(3);
    const { changed } = fixture.open((w) =>
      w.labels.set(fixture.projectId, { imageIds: ring }, 'round-lesion', 'tester'),
    );
    expect(changed).toBe(3);

    const report = await fixture.openAsync((w) => reprobe(w, probeRunId));
    expect(report.relabelled).toBe(3);
    // The training labels did not change, so neither did the predictions: every val image is now
    // "round-lesion", and the accuracy is the share predicted round-lesion before.
    const [ringRow, roundRow] = probed.pretrained.confusion;
    expect(report.after.pretrained.accuracy).toBeCloseTo((ringRow![1]! + roundRow![1]!) / 6, 10);
    expect(report.after.pretrained.perClass.map((c) => c.support)).toEqual([0, 6]);
    expect(report.after.pretrained.interval!.low).toBeLessThanOrEqual(report.after.pretrained.accuracy);
    expect(report.before.pretrained.accuracy).toBe(probed.pretrained.accuracy);

    const card = await fixture.openAsync((w) => previewModelCard(w, fixture.runId));
    expect(card.dataset.labels).toEqual([
      { label: 'ring-lesion', train: 9, val: 0 },
      { label: 'round-lesion', train: 9, val: 6 },
    ]);
    expect(card.dataset.relabelled).toBe(3);

    fixture.open((w) => w.labels.undo(fixture.projectId));
    const undone = await fixture.openAsync((w) => reprobe(w, probeRunId));
    expect(undone.relabelled).toBe(0);
    expect(undone.after.pretrained).toEqual(probed.pretrained);
  });

  it('fits a class that relabelling created, and leaves out images whose label was cleared', async () => {
    const train = fixture.open(
      (w) => (w.runs.get(fixture.runId).config as { data: { trainImageIds: number[] } }).data.trainImageIds,
    );
    fixture.open((w) => w.labels.set(fixture.projectId, { imageIds: train.slice(0, 4) }, 'unsure', 'tester'));
    fixture.open((w) => w.labels.set(fixture.projectId, { imageIds: valIds().slice(0, 1) }, null, 'tester'));
    const report = await fixture.openAsync((w) => reprobe(w, probeRunId));
    expect(report.after.classes).toEqual(['ring-lesion', 'round-lesion', 'unsure']);
    expect(report.after.trainImages).toBe(18);
    expect(report.after.valImages).toBe(5);
    expect(report.skipped).toEqual([{ reason: 'no label now', count: 1 }]);
    expect(report.relabelled).toBe(5);
    fixture.open((w) => {
      w.labels.undo(fixture.projectId);
      w.labels.undo(fixture.projectId);
    });
  });

  it('says to run the probe again when it kept no features', async () => {
    const file = fixture.open((w) => probeFeaturesPath(w.projectDir(fixture.projectId), probeRunId));
    fs.renameSync(file, `${file}.moved`);
    try {
      await expect(fixture.openAsync((w) => reprobe(w, probeRunId))).rejects.toThrow(
        `probe run ${probeRunId} kept no features to re-fit on`,
      );
    } finally {
      fs.renameSync(`${file}.moved`, file);
    }
    await expect(fixture.openAsync((w) => reprobe(w, fixture.runId))).rejects.toThrow('is a pretrain run, not a probe');
  });
});
