/**
 * Random 3-D crops of a stored volume (a NIfTI file or a DICOM series, both read as a
 * {@link VoxelGrid}): the training samples of the 3-D MAE.
 *
 * - Axes: a crop is [C, D, H, W] with D along k (the stored slices, in stored order), H along the
 *   rows of a stored slice as shown (row 0 is the highest j, as `readNiftiSlice` and DICOM rows)
 *   and W along i; C is the voxel's bands (1 for CT/MR). Values are channel-major, then slice,
 *   row, column — the layout `patchify3d` takes.
 * - Sizes are in voxels, without resampling: on 0.7 × 0.7 × 3 mm CT a 64×64×64 crop spans 192 mm
 *   in depth, which is why thick-slice patches (e.g. 4×16×16) exist.
 * - Each crop's corner is uniform over the positions that fit; each axis enabled in `flip` is
 *   mirrored with probability ½ (default: W, the left–right mirror of the 2-D recipe's flip).
 * - With `standardise` each channel of the crop is shifted and scaled to mean 0, deviation 1
 *   (a constant crop becomes zeros), so CT in HU and MR in arbitrary units train alike. Voxels
 *   that are not finite (NaN outside a brain mask, as many pipelines write) do not count in the
 *   statistics and become 0, the channel's mean, instead of turning the whole crop into zeros.
 */
import type { Size3d } from '../../mae/volume3d/config3d';
import type { Rng } from '../../mae/rng';
import { DecodeError } from '../formats/decode';
import type { VoxelGrid } from './volume-planes';

/** How crops are drawn. */
export interface Crop3dOptions {
  /** Crop size (slices, rows, columns) in voxels: the 3-D MAE's `volumeSize`. */
  size: Size3d;
  /** Which axes (slices, rows, columns) may be mirrored, each with probability ½. */
  flip: readonly [boolean, boolean, boolean];
  /** Shift and scale each channel of a crop to mean 0, deviation 1. */
  standardise: boolean;
  /** Which volume of a 4-D series (0-based). */
  time: number;
}

/** Defaults: left–right flips only, standardised, the first volume of a series. */
export const DEFAULT_CROP3D: Omit<Crop3dOptions, 'size'> = {
  flip: [false, false, true], // mirror W only, as the 2-D recipe's horizontal flip
  standardise: true, // CT (HU) and MR (arbitrary units) on one scale
  time: 0,
};

/** One crop: its values [C, D, H, W] and where it came from. */
export interface VolumeCrop {
  values: Float32Array;
  /** Channels (the volume's bands). */
  channels: number;
  /** First slice (k), first row (as shown) and first column (i) of the crop in the volume. */
  origin: [number, number, number];
  /** Which axes (slices, rows, columns) were mirrored. */
  flipped: [boolean, boolean, boolean];
}

/** Checks that `grid` holds a crop of `size` in volume `time`; returns its extents (slices, rows, columns). */
function checkCrop(grid: VoxelGrid, size: Size3d, time: number, name: string): [number, number, number] {
  const [columnsIn, rowsIn, slicesIn, volumes] = grid.size;
  const available: [number, number, number] = [slicesIn, rowsIn, columnsIn];
  if (size.some((extent, axis) => !Number.isInteger(extent) || extent < 1 || extent > available[axis]!)) {
    throw new DecodeError(
      `${name} is ${slicesIn} slices × ${rowsIn} rows × ${columnsIn} columns, too small for a ` +
        `${size.join('×')} crop (slices×rows×columns); choose a smaller crop`,
    );
  }
  if (!Number.isInteger(time) || time < 0 || time >= volumes) {
    throw new DecodeError(`${name} holds ${volumes} volume(s); volume ${time + 1} was asked for`);
  }
  return available;
}

/** Reads the crop of `size` at `origin` (slice, shown row, column), mirrored along the `flipped` axes. */
function readCrop(
  grid: VoxelGrid,
  size: Size3d,
  origin: [number, number, number],
  flipped: [boolean, boolean, boolean],
  options: Pick<Crop3dOptions, 'standardise' | 'time'>,
): VolumeCrop {
  const [columnsIn, rowsIn, slicesIn] = grid.size;
  const [depth, height, width] = size;
  const channels = grid.bands;
  const values = new Float32Array(channels * depth * height * width);
  const plane = columnsIn * rowsIn;
  let out = 0;
  for (let c = 0; c < channels; c++) {
    for (let z = 0; z < depth; z++) {
      const k = origin[0] + (flipped[0] ? depth - 1 - z : z);
      for (let y = 0; y < height; y++) {
        const row = origin[1] + (flipped[1] ? height - 1 - y : y);
        const base = columnsIn * (rowsIn - 1 - row) + plane * (k + slicesIn * options.time); // j = rows − 1 − row
        for (let x = 0; x < width; x++) {
          const i = origin[2] + (flipped[2] ? width - 1 - x : x);
          values[out++] = grid.read(base + i, c);
        }
      }
    }
  }
  if (options.standardise) standardiseChannels(values, channels);
  return { values, channels, origin, flipped };
}

/**
 * A random crop of `grid`. Throws naming `name` and both sizes when the volume is smaller than
 * the crop along an axis, or has no volume `time`.
 */
export function randomCrop3d(
  grid: VoxelGrid,
  options: Pick<Crop3dOptions, 'size'> & Partial<Crop3dOptions>,
  rng: Rng,
  name = 'the volume',
): VolumeCrop {
  const { size, flip, standardise, time } = { ...DEFAULT_CROP3D, ...options };
  const available = checkCrop(grid, size, time, name);
  const origin = size.map((extent, axis) => rng.int(available[axis]! - extent + 1)) as [number, number, number];
  const flipped = flip.map((allowed) => allowed && rng.uniform() < 0.5) as [boolean, boolean, boolean];
  return readCrop(grid, size, origin, flipped, { standardise, time });
}

/**
 * The crop at the centre of `grid` (corner ⌊(extent − crop) / 2⌋ on each axis), never mirrored:
 * the one deterministic view of a volume, for features and probes.
 */
export function centreCrop3d(
  grid: VoxelGrid,
  options: Pick<Crop3dOptions, 'size'> & Partial<Pick<Crop3dOptions, 'standardise' | 'time'>>,
  name = 'the volume',
): VolumeCrop {
  const { size, standardise, time } = { ...DEFAULT_CROP3D, ...options };
  const available = checkCrop(grid, size, time, name);
  const origin = size.map((extent, axis) => Math.floor((available[axis]! - extent) / 2)) as [number, number, number];
  return readCrop(grid, size, origin, [false, false, false], { standardise, time });
}

/**
 * Each of `channels` equal runs of `values` shifted and scaled in place to mean 0, deviation 1 over
 * its finite voxels; voxels that are not finite become 0 (the mean).
 */
export function standardiseChannels(values: Float32Array, channels: number): void {
  const count = values.length / channels;
  for (let c = 0; c < channels; c++) {
    const run = values.subarray(c * count, (c + 1) * count);
    let sum = 0;
    let finite = 0;
    for (const v of run)
      if (Number.isFinite(v)) {
        sum += v;
        finite++;
      }
    const mean = finite ? sum / finite : 0;
    let squares = 0;
    for (const v of run) if (Number.isFinite(v)) squares += (v - mean) ** 2;
    const deviation = finite ? Math.sqrt(squares / finite) : 0;
    for (let k = 0; k < count; k++) {
      const v = run[k]!;
      run[k] = deviation > 1e-12 && Number.isFinite(v) ? (v - mean) / deviation : 0;
    }
  }
}

/**
 * A training batch of `count` random crops drawn from `grids` (volume b % grids.length for crop
 * b): values [B, C, D, H, W] flattened, ready for `tf.tensor(values, shape)`. Every volume must
 * have the same band count; `names` label the errors.
 */
export function cropBatch3d(
  grids: readonly VoxelGrid[],
  count: number,
  options: Pick<Crop3dOptions, 'size'> & Partial<Crop3dOptions>,
  rng: Rng,
  names: readonly string[] = [],
): { values: Float32Array; shape: [number, number, number, number, number] } {
  if (grids.length === 0) throw new DecodeError('a 3-D batch needs at least one volume');
  const crops = Array.from({ length: count }, (_, b) =>
    randomCrop3d(grids[b % grids.length]!, options, rng, names[b % grids.length]),
  );
  const channels = crops[0]!.channels;
  const odd = crops.findIndex((crop) => crop.channels !== channels);
  if (odd >= 0) {
    throw new DecodeError(
      `${names[odd % grids.length] ?? `volume ${(odd % grids.length) + 1}`} has ${crops[odd]!.channels} ` +
        `channel(s), the first has ${channels}: one 3-D batch needs one channel count`,
    );
  }
  const values = new Float32Array(count * crops[0]!.values.length);
  crops.forEach((crop, b) => values.set(crop.values, b * crop.values.length));
  return { values, shape: [count, channels, ...options.size] };
}
