/**
 * Training samples of volumes: rows of generated NIfTI volumes (metadata as the reader gives it)
 * become planes along the chosen axis or all three, sized for square pixels; the split by volume
 * keeps every plane of a volume on one side; DICOM series and plain images are refused by name
 * where they cannot be sampled as asked.
 */
import { describe, expect, it } from 'vitest';
import type { ImageMeta } from '../../contract';
import { makeNifti } from '../formats/nifti.fixtures';
import { niftiMeta, readNifti } from '../formats/nifti';
import { splitGroupOf, stratifiedSplit } from '../split';
import { checkVolumeSampling, storedSliceEntries, volumeEntries, type VolumeRow } from './volume-entries';

/** Rows of one 4 × 3 × 5 volume (0.5 × 0.5 × 2 mm) as import stores them, keyed like import does. */
function volumeRows(
  name: string,
  label: string | null = null,
): (VolumeRow & { label: string | null; group: string | null })[] {
  const volume = readNifti(
    makeNifti({ datatype: 2, dims: [4, 3, 5], values: new Array(60).fill(0), pixdim: [0.5, 0.5, 2] }),
  );
  return Array.from({ length: 5 }, (_, slice) => {
    const meta = niftiMeta(volume, slice);
    const keyed: ImageMeta = { ...meta, volume: { ...meta.volume!, key: `${name}:0`, group: name } };
    return {
      meta: keyed,
      label,
      group: splitGroupOf(keyed),
      entry: { path: `/data/${name}.nii`, frame: slice, width: 4, height: 3, channels: 1, bitDepth: 8 },
    };
  });
}

describe('volume entries', () => {
  it('cuts each volume into its coronal planes once, sized for square pixels', () => {
    const rows = [...volumeRows('a'), ...volumeRows('b')];
    const entries = volumeEntries(rows, { axis: 'coronal', neighbours: 0 });
    expect(entries).toHaveLength(2 * 3); // j has 3 planes per volume
    expect(
      entries.map((entry) => [entry.path, entry.plane!.axis, entry.plane!.index, entry.width, entry.height]),
    ).toEqual([
      ['/data/a.nii', 1, 0, 4, 20],
      ['/data/a.nii', 1, 1, 4, 20],
      ['/data/a.nii', 1, 2, 4, 20],
      ['/data/b.nii', 1, 0, 4, 20],
      ['/data/b.nii', 1, 1, 4, 20],
      ['/data/b.nii', 1, 2, 4, 20],
    ]);
  });

  it('takes the stored slices still kept for axial planes, and all three axes for "all"', () => {
    const kept = volumeRows('a').filter((row) => row.entry.frame !== 2); // slice 3 excluded in Curate
    const axial = volumeEntries(kept, { axis: 'axial', neighbours: 1 });
    expect(axial.map((entry) => entry.plane!.index)).toEqual([0, 1, 3, 4]);
    expect(axial.every((entry) => entry.plane!.neighbours === 1 && entry.width === 4 && entry.height === 3)).toBe(true);
    const all = volumeEntries(kept, { axis: 'all', neighbours: 0 });
    const count = (axis: number) => all.filter((entry) => entry.plane!.axis === axis).length;
    expect([count(2), count(1), count(0)]).toEqual([4, 3, 4]);
    expect(all.filter((entry) => entry.plane!.axis === 0).map((entry) => [entry.width, entry.height])[0]).toEqual([
      3, 20,
    ]);
  });

  it('keeps every plane of a volume on the side of the split its volume is on', () => {
    const rows = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((name) => volumeRows(name, 'ct'));
    const { train, val } = stratifiedSplit(rows, 0.34, 7);
    expect(val.length).toBeGreaterThan(0);
    const sampling = { axis: 'all', neighbours: 2 } as const;
    const trainFiles = new Set(volumeEntries(train, sampling).map((entry) => entry.path));
    const valFiles = new Set(volumeEntries(val, sampling).map((entry) => entry.path));
    expect([...valFiles].filter((file) => trainFiles.has(file))).toEqual([]);
    expect(trainFiles.size + valFiles.size).toBe(6);
  });

  it('refuses, by name, unsound DICOM series cut along another axis and plain images with neighbours', () => {
    const series: ImageMeta = { volume: { key: 's', group: 's', slice: 0, slices: 2, axis: 'k', transform: 'dicom' } };
    expect(() => checkVolumeSampling([series], { axis: 'axial', neighbours: 0 })).not.toThrow();
    expect(() => checkVolumeSampling([series], { axis: 'sagittal', neighbours: 0 })).toThrow(
      /1 kept slice belongs to DICOM series without positions or with missing, duplicate or mixed slices/,
    );
    const placed: ImageMeta = { volume: { ...series.volume!, spacing: [0.5, 0.5, 2], orientation: 'LPS', affine: [] } };
    expect(() => checkVolumeSampling([placed, placed], { axis: 'sagittal', neighbours: 2 })).not.toThrow();
    expect(() =>
      checkVolumeSampling([{ volume: { ...placed.volume!, problems: ['missing slices: about 2'] } }], {
        axis: 'axial',
        neighbours: 1,
      }),
    ).toThrow(/DICOM series without positions or with missing/);
    expect(() => checkVolumeSampling([null, {}], { axis: 'coronal', neighbours: 0 })).not.toThrow();
    expect(() => checkVolumeSampling([null, {}], { axis: 'axial', neighbours: 1 })).toThrow(
      /channelPlan.volume.neighbours: 2 kept images are not slices of a volume, so they have no neighbouring slices/,
    );
  });

  it('reads each labelled slice with its neighbours for probes, in order, and leaves other images alone', () => {
    const rows = volumeRows('a');
    const flat: VolumeRow = { entry: { path: '/data/photo.png', channels: 1, bitDepth: 8 }, meta: null };
    const entries = storedSliceEntries([rows[4]!, flat, rows[1]!], { axis: 'coronal', neighbours: 2 });
    expect(entries.map((entry) => entry.plane ?? null)).toEqual([
      { axis: 2, index: 4, time: 0, neighbours: 2 },
      null,
      { axis: 2, index: 1, time: 0, neighbours: 2 },
    ]);
    expect(storedSliceEntries(rows, undefined)).toEqual(rows.map((row) => row.entry));
  });
});
