/**
 * Relabel and reprobe: the run's stored embeddings (the probe's block and pooling) and the
 * baselines the probe kept, so after labels change by hand the probe is re-fitted in well under a
 * second, and the accuracy before and after (each with its interval) differ exactly as the
 * relabelled images say; undo brings the first numbers back.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewModelCard } from '../export/export-run';
import { probeFeaturesPath } from './probe-cache';
import { executeProbe, planProbe, type ProbeReport } from './probe-run';
import { pretrainedFixture, type PretrainedFixture } from './probe.fixtures';
import { useCpuBackend } from '../mae/mae.fixtures';
import { Studio } from '../studio';
import { computeEmbeddings } from './embeddings/compute';
import {
  embeddingFiles,
  embeddingTarget,
  readEmbeddingMeta,
  storedStatus,
  writeEmbeddings,
} from './embeddings/embedding-store';
import { reprobe, reprobeEmbeddings } from './reprobe';

let fixture: PretrainedFixture;
let probeRunId: number;
let probed: ProbeReport;
beforeAll(async () => {
  fixture = await pretrainedFixture();
  probeRunId = fixture.open((w) => planProbe(w, fixture.runId, { method: 'linear', backend: 'cpu' }));
  probed = await executeProbe(fixture.workspaceDir, probeRunId);
  // The run's embeddings as the studio stores them, on the probe's backend (cpu): the probe's own features.
  await useCpuBackend();
  await fixture.openAsync(async (w) => {
    const target = embeddingTarget(w, reprobeEmbeddings(w, probeRunId));
    const { meta, matrix } = await computeEmbeddings(w, target, { preferNative: false });
    await writeEmbeddings(w, target.projectId, meta, matrix);
  });
}, 120_000);
afterAll(() => fixture?.remove());

const valIds = () =>
  fixture.open((w) => (w.runs.get(fixture.runId).config as { data: { valImageIds: number[] } }).data.valImageIds);

describe('reprobe', () => {
  it('re-fits to the very same scores while no label changed', async () => {
    const report = await fixture.openAsync((w) => reprobe(w, probeRunId));
    expect(report).toMatchObject({ probeRunId, method: 'linear', block: 1, relabelled: 0, notEncoded: 0, skipped: [] });
    expect(report.embeddings).toEqual({ runId: fixture.runId, block: 1, pooling: 'mean', step: probed.step });
    expect(report.probedStep).toBe(probed.step);
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

  it('re-fits the pretrained probe on the stored embeddings, and asks for them when they are missing', async () => {
    const key = { runId: fixture.runId, block: 1, pooling: 'mean' as const };
    const files = fixture.open((w) => embeddingFiles(w, fixture.projectId, key));
    const saved = fs.readFileSync(files.npy);
    // Every image at one point of the stored set: the pretrained probe can tell nothing apart, the baselines can.
    await fixture.openAsync(async (w) => {
      const meta = readEmbeddingMeta(w, fixture.projectId, key)!;
      const flat = new Float32Array(meta.imageIds.length * meta.width).fill(0.5);
      await writeEmbeddings(w, fixture.projectId, meta, {
        rows: meta.imageIds.length,
        columns: meta.width,
        values: flat,
      });
    });
    try {
      const report = await fixture.openAsync((w) => reprobe(w, probeRunId));
      const predicted = report.after.pretrained.confusion[0]!.map((_, c) =>
        report.after.pretrained.confusion.reduce((sum, row) => sum + row[c]!, 0),
      );
      expect(predicted.filter((count) => count > 0)).toHaveLength(1);
      expect(report.after.randomInit).toEqual(probed.randomInit);
    } finally {
      fs.writeFileSync(files.npy, saved);
    }
    fs.renameSync(files.json, `${files.json}.moved`);
    try {
      await expect(fixture.openAsync((w) => reprobe(w, probeRunId))).rejects.toThrow(
        /embeddings of run \d+ \(block 1, mean pooling\) have not been computed yet: compute them first/,
      );
    } finally {
      fs.renameSync(`${files.json}.moved`, files.json);
    }
  });

  it('through the studio, computes missing embeddings first (with progress), then re-fits', async () => {
    const key = { runId: fixture.runId, block: 1, pooling: 'mean' as const };
    const files = fixture.open((w) => embeddingFiles(w, fixture.projectId, key));
    fs.rmSync(files.json);
    const studio = new Studio(fixture.workspaceDir);
    try {
      const phases: string[] = [];
      const off = studio.events.on('embeddingProgress', (event) => phases.push(event.phase));
      const report = await studio.services.labels.reprobe(probeRunId);
      off();
      expect(phases[0]).toBe('started');
      expect(phases).toContain('batch');
      expect(phases.at(-1)).toBe('finished');
      expect(storedStatus(studio.workspace, embeddingTarget(studio.workspace, key)).state).toBe('ready');
      expect(report).toMatchObject({ relabelled: 0, embeddings: key, skipped: [] });
      expect(report.after.valImages).toBe(probed.valImages);
      expect(report.after.pretrained.interval!.low).toBeLessThanOrEqual(report.after.pretrained.accuracy);
      // Ready now: a second re-fit computes nothing.
      phases.length = 0;
      studio.events.on('embeddingProgress', (event) => phases.push(event.phase));
      await studio.services.labels.reprobe(probeRunId);
      expect(phases).toEqual([]);
    } finally {
      await studio.close();
    }
  }, 60_000);

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
