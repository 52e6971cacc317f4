/**
 * Training on DICOM series as a user sets it up: two patients' CT series (one file per slice, in
 * HU through their rescale intercept) imported, the channel plan set to sagittal 2.5-D planes in
 * an HU window; the run's plan has 3 × the bands clipped to the window, its split keeps each
 * series on one side, and its batches are cut sagittally at square pixels from the slice files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../mae/rng';
import { planDataset } from '../../train/dataset-plan';
import type { PretrainPlan } from '../../train/pretrain-plan';
import { imageEntries } from '../../train/pretrain-images';
import { fileBatchSource } from '../batches';
import { channelPlanView, validatePlan } from '../channel-plan';
import { writeDicom } from '../formats/formats.fixtures';
import { temporaryFolder, temporaryWorkspace } from '../images.fixtures';

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;

beforeAll(async () => {
  data = temporaryFolder();
  space = temporaryWorkspace();
  // Per patient 5 axial slices of 8 × 6 pixels of 0.5 mm, 1.5 mm apart; one folder (one label).
  fs.mkdirSync(path.join(data.dir, 'ct'));
  for (const patient of [1, 2]) {
    for (let k = 0; k < 5; k++) {
      fs.writeFileSync(
        path.join(data.dir, 'ct', `p${patient}-slice${k}.dcm`),
        writeDicom({
          rows: 6,
          columns: 8,
          bitsAllocated: 16,
          bitsStored: 12,
          values: Array.from({ length: 48 }, (_, index) => 600 + ((index * 53 + k * 97 + patient * 31) % 1400)),
          intercept: -1024,
          series: `1.2.840.99.5${patient}`,
          patientId: `P${patient}`,
          instance: k + 1,
          position: [0, 0, 1.5 * k],
          orientation: [1, 0, 0, 0, 1, 0],
        }),
      );
    }
  }
  const result = await space.importFolder(data.dir);
  expect(result.errors).toEqual([]);
  expect(result.volumes!.map((volume) => volume.problems)).toEqual([[], []]);
});
afterAll(() => {
  space.remove();
  data.remove();
});

describe('training on DICOM series', () => {
  it('plans sagittal 2.5-D planes in an HU window, split by series, read at square pixels', async () => {
    const { workspace, projectId } = space;
    const view = channelPlanView(workspace, projectId);
    expect(view.volumes).toBe(2);
    workspace.channelPlans.savePlan(
      projectId,
      validatePlan(
        { ...view.plan, scaling: 'window', window: [-160, 240], volume: { axis: 'sagittal', neighbours: 1 } },
        [1],
        1,
      ),
    );
    const data = planDataset(workspace, projectId, { valFraction: 0.5, seed: 4 });
    expect(data.channels).toBe(3);
    expect(data.transform!.clip).toEqual(Array(3).fill([-160, 240]));
    const entries = imageEntries(workspace, { data } as PretrainPlan);
    // Per series 8 sagittal planes (i) of 6 columns (j) × 5 slices of 1.5 mm resampled to 15 rows of 0.5 mm.
    expect(entries.train).toHaveLength(8);
    expect(entries.val).toHaveLength(8);
    expect(entries.train.every((entry) => entry.plane!.axis === 0 && entry.width === 6 && entry.height === 15)).toBe(
      true,
    );
    const patientOf = (slice: { path: string }) => path.basename(slice.path).split('-')[0];
    const trainSeries = new Set(entries.train.flatMap((entry) => entry.plane!.series!.slices.map(patientOf)));
    const valSeries = new Set(entries.val.flatMap((entry) => entry.plane!.series!.slices.map(patientOf)));
    expect(trainSeries.size).toBe(1);
    expect([...valSeries].filter((patient) => trainSeries.has(patient))).toEqual([]);

    const batch = await fileBatchSource({ images: entries.train, imgSize: 8, transform: data.transform! }).next(
      Rng.fromSeed(3, 0),
      4,
    );
    expect([batch.channels, batch.height, batch.width]).toEqual([3, 8, 8]);
    expect(batch.images.every((value) => value >= 0 && value <= 1)).toBe(true);
    // Values span the window: some below −160 HU (0) and some above 240 HU (1) in the series.
    expect(batch.images.some((value) => value === 0)).toBe(true);
    expect(batch.images.some((value) => value === 1)).toBe(true);
  });
});
