/**
 * Per-volume probing of a 3-D MAE on generated NIfTI volumes of two kinds: stripes that change
 * from slice to slice (along k) or along the columns (along i), each at its own frequency, phase,
 * contrast and noise. Even an untrained encoder's features separate them linearly; the test checks
 * that the per-volume path (centre crop → encoder → pool → probe) carries the label through.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { makeNifti } from '../data/formats/nifti.fixtures';
import { readNifti } from '../data/formats/nifti';
import { niftiGrid } from '../data/volumes/volume-planes';
import { useCpuBackend } from '../mae/mae.fixtures';
import { Rng } from '../mae/rng';
import { validateMae3dConfig } from '../mae/volume3d/config3d';
import { createMae3d, disposeMae3d } from '../mae/volume3d/mae3d';
import { probeVolumes3d, volumeFeatures3d, type LabelledVolume } from './volume3d-probe';

beforeAll(useCpuBackend);

const CONFIG = validateMae3dConfig({
  volumeSize: [8, 8, 8],
  patchSize: [4, 4, 4],
  inChans: 1,
  embedDim: 24,
  depth: 1,
  numHeads: 2,
  decoderEmbedDim: 12,
  decoderDepth: 1,
  decoderNumHeads: 2,
  mlpRatio: 2,
  normPixLoss: true,
});

/** A 12×10×10 (i, j, k) int16 NIfTI of stripes along k (label 0) or along i (label 1). */
function stripes(label: number, rng: Rng, n: number): LabelledVolume {
  const [X, Y, Z] = [12, 10, 10];
  const frequency = rng.uniformIn(0.8, 1.6);
  const phase = rng.uniformIn(0, 2 * Math.PI);
  const contrast = rng.uniformIn(50, 400);
  const values: number[] = [];
  for (let k = 0; k < Z; k++)
    for (let j = 0; j < Y; j++)
      for (let i = 0; i < X; i++) {
        const along = label === 0 ? k : i;
        values.push(Math.round(contrast * Math.sin(frequency * along + phase) + 20 * rng.normal()));
      }
  const grid = niftiGrid(readNifti(makeNifti({ datatype: 4, dims: [X, Y, Z], values })));
  return { grid, label, name: `volume-${n}.nii` };
}

describe('3-D probing on per-volume labels', () => {
  it('tells volumes striped across slices from volumes striped across columns', () => {
    const rng = Rng.fromSeed(5, 2);
    const volumes = Array.from({ length: 36 }, (_, n) => stripes(n % 2, rng, n));
    const model = createMae3d(CONFIG, 3);
    const { accuracy, predictions } = probeVolumes3d(model, volumes.slice(0, 24), volumes.slice(24), 2);
    if (process.env.MAE3D_LOG) console.log(JSON.stringify({ accuracy }));
    expect(predictions).toHaveLength(12);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    disposeMae3d(model);
  });

  it('gives one feature vector per volume and names a volume too small for the model', () => {
    const rng = Rng.fromSeed(6, 2);
    const model = createMae3d(CONFIG, 3);
    const features = volumeFeatures3d(model, [stripes(0, rng, 0), stripes(1, rng, 1), stripes(0, rng, 2)], 'cls');
    expect(features.length).toBe(3 * 24);
    const small = niftiGrid(readNifti(makeNifti({ datatype: 4, dims: [8, 8, 4], values: new Array(256).fill(1) })));
    expect(() => volumeFeatures3d(model, [{ grid: small, label: 0, name: 'thin.nii' }], 'mean')).toThrow(
      'thin.nii is 4 slices × 8 rows × 8 columns, too small for a 8×8×8 crop',
    );
    expect(() => probeVolumes3d(model, [{ grid: small, label: 2, name: 'x.nii' }], [], 2)).toThrow(
      'x.nii: label 2 is not a class index 0..1',
    );
    disposeMae3d(model);
  });
});
