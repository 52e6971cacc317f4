/**
 * Training on volumes as a user sets it up: six generated CT-like NIfTI files imported into a
 * project, the channel plan set to coronal 2.5-D planes in an HU window; the run's plan has
 * 3 × the bands, its split keeps each volume on one side, and its batches are cut coronally with
 * square pixels from the files on disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileBatchSource } from '../data/batches';
import { channelPlanView, checkPlanVolumes, validatePlan } from '../data/channel-plan';
import { temporaryFolder, temporaryWorkspace, writeFixture } from '../data/images.fixtures';
import { importFolders } from '../data/import/import';
import { makeNifti } from '../data/formats/nifti.fixtures';
import { Rng } from '../mae/rng';
import { planDataset } from './dataset-plan';
import type { PretrainPlan } from './pretrain-plan';
import { imageEntries } from './pretrain-images';

let data: ReturnType<typeof temporaryFolder>;
let space: ReturnType<typeof temporaryWorkspace>;

beforeAll(async () => {
  data = temporaryFolder();
  space = temporaryWorkspace();
  // 8 × 6 × 4 voxels of 0.7 × 0.7 × 2.1 mm, values in HU; each file a patient.
  for (let patient = 0; patient < 6; patient++) {
    const values = Array.from({ length: 8 * 6 * 4 }, (_, index) => -1000 + ((index * 37 + patient * 11) % 1400));
    fs.writeFileSync(
      path.join(data.dir, `patient${patient}.nii.gz`),
      makeNifti({ datatype: 4, dims: [8, 6, 4], values, pixdim: [0.7, 0.7, 2.1], gzip: true }),
    );
  }
  const result = await space.importFolder(data.dir);
  expect(result.errors).toEqual([]);
});
afterAll(() => {
  space.remove();
  data.remove();
});

describe('training on volumes', () => {
  it('plans coronal 2.5-D planes: 3 channels, split by volume, batches read coronally at square pixels', async () => {
    const { workspace, projectId } = space;
    const before = channelPlanView(workspace, projectId);
    expect(before.volumes).toBe(6);
    expect(before.modelChannels).toBe(1);
    workspace.channelPlans.savePlan(
      projectId,
      validatePlan(
        { ...before.plan, scaling: 'window', window: [-160, 240], volume: { axis: 'coronal', neighbours: 1 } },
        [1],
        1,
      ),
    );
    expect(channelPlanView(workspace, projectId).modelChannels).toBe(3);

    const data = planDataset(workspace, projectId, { valFraction: 0.34, seed: 3 });
    expect(data.channels).toBe(3);
    expect([data.mean.length, data.std.length]).toEqual([3, 3]); // reconstructions undo the normalisation per channel
    expect(data.transform!.clip).toEqual([
      [-160, 240],
      [-160, 240],
      [-160, 240],
    ]);
    const entries = imageEntries(workspace, { data } as PretrainPlan);
    // Every file's 6 coronal planes (j), 4 slices of 2.1 mm resampled to 12 rows of 0.7 mm.
    expect(entries.train.length + entries.val.length).toBe(6 * 6);
    // Epochs count planes, not the 4 stored slices per file.
    expect(data.samples).toEqual({ train: entries.train.length, val: entries.val.length });
    expect(entries.train.every((entry) => entry.plane!.axis === 1 && entry.width === 8 && entry.height === 12)).toBe(
      true,
    );
    const trainFiles = new Set(entries.train.map((entry) => entry.path));
    expect(entries.val.filter((entry) => trainFiles.has(entry.path))).toEqual([]);
    expect(entries.val.length).toBeGreaterThan(0);

    const batch = await fileBatchSource({ images: entries.train, imgSize: 16, transform: data.transform! }).next(
      Rng.fromSeed(1, 0),
      4,
    );
    expect([batch.channels, batch.height, batch.width]).toEqual([3, 16, 16]);
    expect(batch.images.every((value) => value >= 0 && value <= 1)).toBe(true);
  });

  it('plans axial planes with two neighbours a side as 5 channels, one sample per stored slice', async () => {
    const { workspace, projectId } = space;
    const view = channelPlanView(workspace, projectId);
    workspace.channelPlans.savePlan(
      projectId,
      validatePlan({ ...view.plan, volume: { axis: 'axial', neighbours: 2 } }, [1], 1),
    );
    const data = planDataset(workspace, projectId, { seed: 1 });
    expect(data.channels).toBe(5);
    const entries = imageEntries(workspace, { data } as PretrainPlan);
    expect(entries.train.length).toBe(data.trainImageIds.length);
    expect(
      entries.train.every(
        (entry) => entry.plane!.axis === 2 && entry.plane!.neighbours === 2 && entry.width === 8 && entry.height === 6,
      ),
    ).toBe(true);
    const batch = await fileBatchSource({ images: entries.train, imgSize: 8, transform: data.transform! }).next(
      Rng.fromSeed(2, 0),
      2,
    );
    expect(batch.channels).toBe(5);
  });

  it('refuses, when the plan is saved, neighbours for a project that also keeps plain images', async () => {
    const { workspace, projectId } = space;
    await writeFixture(path.join(data.dir, 'photo.png'), {
      format: 'png',
      bitDepth: 8,
      channels: 1,
      width: 16,
      height: 16,
      seed: 1,
    });
    await importFolders({
      importId: 'j',
      projectId,
      folders: [data.dir],
      images: workspace.images,
      projectDir: workspace.projectDir(projectId),
    });
    const plan = channelPlanView(workspace, projectId).plan;
    expect(() => checkPlanVolumes(workspace, projectId, { ...plan, volume: { axis: 'axial', neighbours: 1 } })).toThrow(
      /channelPlan.volume.neighbours: 1 kept image is not a slice of a volume, so it has no neighbouring slices/,
    );
    expect(() =>
      checkPlanVolumes(workspace, projectId, { ...plan, volume: { axis: 'sagittal', neighbours: 0 } }),
    ).not.toThrow();
  });
});
