/**
 * 2-D planes of a NIfTI volume along any of its three voxel axes, for training on volumes.
 *
 * - Which voxel axis an anatomical plane cuts across comes from the affine's axis codes
 *   (`nifti-affine.ts` `axisCodes`): axial cuts the axis running S–I, coronal A–P, sagittal L–R. A file
 *   without sform or qform has the spacing-only affine, read as RAS (i = L–R, j = A–P, k = S–I).
 * - A plane's columns run along the lower of its two in-plane voxel axes and its rows along the
 *   higher one, from its high end to its low end (as `readNiftiSlice` does for k: +j up; for a
 *   coronal or sagittal plane of a RAS volume, superior at the top).
 * - Square pixels: when the two in-plane spacings differ (a coronal plane of 0.7 × 0.7 × 3 mm
 *   CT), the coarser axis is resampled, linearly between its two nearest voxels, to the finer
 *   spacing: n voxels of spacing s become round(n · s / fine) pixels, centres aligned (the same
 *   physical extent). Values stay in the file's units (float32 when resampled).
 * - 2.5-D: `neighbours` n stacks the 2n + 1 planes index − n … index + n as bands (plane-major:
 *   all bands of the first plane, then the next), indices clamped at the volume's ends, so the
 *   first plane's lower neighbours repeat it.
 */
import { stat } from 'node:fs/promises';
import type { VolumeSampling } from '../../contract';
import { DecodeError } from '../formats/decode';
import type { NiftiVolume } from '../formats/nifti';
import { openNiftiFile } from '../formats/nifti-file';
import { allocateValues, type Raster } from '../formats/raster';

/** The plane of a volume one training sample reads. */
export interface VolumePlane {
  /** Voxel axis the plane cuts across: 0 (i), 1 (j), 2 (k, the stored slices). */
  axis: 0 | 1 | 2;
  /** Index along that axis (0-based). */
  index: number;
  /** Which volume of a 4-D series (0-based). */
  time: number;
  /** Planes on each side stacked as bands (2.5-D); 0 for one plane. */
  neighbours: number;
  /**
   * For a volume of separate stored slices (a DICOM series): its slices in order and its voxel
   * spacing (i, j, k); absent for a NIfTI file, which holds its whole volume.
   */
  series?: { slices: SeriesSlice[]; spacing: [number, number, number] };
}

/** World-axis letters of each anatomical plane's normal. */
const NORMAL_LETTERS: Readonly<Record<Exclude<VolumeSampling['axis'], 'all'>, string>> = {
  axial: 'SI',
  coronal: 'AP',
  sagittal: 'LR',
};

/**
 * The voxel axis (0 i, 1 j, 2 k) an anatomical plane cuts across, from the volume's axis codes
 * (`RAS`, `LPS`, ...; only which world axis each voxel axis runs along matters, not its sign).
 */
export function voxelAxisOf(codes: string, plane: Exclude<VolumeSampling['axis'], 'all'>): 0 | 1 | 2 {
  const letters = [...codes];
  const world = letters.map((letter) => Object.values(NORMAL_LETTERS).findIndex((set) => set.includes(letter)));
  if (letters.length !== 3 || world.includes(-1) || new Set(world).size !== 3) {
    throw new DecodeError(
      `the volume's axes (${codes}) do not each run along another of L–R, A–P, S–I, ` +
        `so its ${plane} planes cannot be cut along a voxel axis`,
    );
  }
  return letters.findIndex((letter) => NORMAL_LETTERS[plane].includes(letter)) as 0 | 1 | 2;
}

/** The voxel axes an anatomical choice cuts across ('all': the three, axial first). */
export function voxelAxesOf(codes: string, choice: VolumeSampling['axis']): (0 | 1 | 2)[] {
  if (choice !== 'all') return [voxelAxisOf(codes, choice)];
  return (['axial', 'coronal', 'sagittal'] as const).map((plane) => voxelAxisOf(codes, plane));
}

/**
 * Voxels of a volume as planes are cut from them: (i, j, k, t) with i fastest, and +j up, so
 * that row 0 of a stored slice is its highest j (as `readNiftiSlice` shows NIfTI slices and as
 * DICOM rows are stored).
 */
export interface VoxelGrid {
  size: [number, number, number, number];
  spacing: [number, number, number];
  sampleType: Raster['sampleType'];
  bands: number;
  /** Band `band` of the voxel at linear index i + X·(j + Y·(k + Z·t)), in the file's units. */
  read(index: number, band: number): number;
  /**
   * Reads one plane as {@link readPlane} does, when the grid can do it without a read per voxel
   * (a NIfTI file read by offsets: a slice, or a row or the rows of each slice).
   */
  plane?(axis: 0 | 1 | 2, index: number, time: number): Raster;
  /** Lets go of the file the voxels are read from. */
  close?(): void;
}

/**
 * A NIfTI volume as a {@link VoxelGrid}, its planes read by ranges of its voxel bytes: a plane
 * across k is one read, across j one row per slice, across i the span of each slice that holds its
 * column (one slice at a time), so a volume read from a file is never held whole.
 */
export function niftiGrid(volume: NiftiVolume): VoxelGrid {
  const { datatype, slope, intercept, littleEndian, voxels, size } = volume;
  const { bands, bytes } = datatype;
  const componentBytes = bands > 1 ? 1 : bytes;
  const value = (view: DataView, at: number, band: number) =>
    datatype.read(view, at + band * componentBytes, littleEndian) * slope + intercept;
  return {
    size,
    spacing: volume.spacing,
    sampleType: volume.sampleType,
    bands,
    read: (index, band) => value(voxels.view(index * bytes, bytes), 0, band),
    plane: (axis, index, time) => {
      checkPlane(size, axis, index, time);
      const [u, v] = inPlaneAxes(axis);
      const width = size[u]!;
      const height = size[v]!;
      const [x, y, z] = size;
      const values = allocateValues(volume.sampleType, width * height * bands);
      const put = (row: number, column: number, view: DataView, at: number) => {
        for (let band = 0; band < bands; band++) values[(row * width + column) * bands + band] = value(view, at, band);
      };
      const sliceBytes = x * y * bytes;
      const volumeStart = time * z * sliceBytes;
      if (axis === 2) {
        const view = voxels.view(volumeStart + index * sliceBytes, sliceBytes);
        for (let row = 0; row < height; row++)
          for (let column = 0; column < width; column++)
            put(row, column, view, ((height - 1 - row) * x + column) * bytes);
      } else if (axis === 1) {
        for (let k = 0; k < z; k++) {
          const view = voxels.view(volumeStart + k * sliceBytes + index * x * bytes, x * bytes);
          for (let column = 0; column < width; column++) put(height - 1 - k, column, view, column * bytes);
        }
      } else {
        // The column i of each slice: from row 0's voxel i to row y − 1's, one read per slice.
        const span = ((y - 1) * x + 1) * bytes;
        for (let k = 0; k < z; k++) {
          const view = voxels.view(volumeStart + k * sliceBytes + index * bytes, span);
          for (let column = 0; column < width; column++) put(height - 1 - k, column, view, column * x * bytes);
        }
      }
      return { width, height, bands, sampleType: volume.sampleType, values };
    },
    close: () => voxels.close(),
  };
}

function checkPlane(size: readonly number[], axis: 0 | 1 | 2, index: number, time: number): void {
  if (!(Number.isInteger(index) && index >= 0 && index < size[axis]!))
    throw new DecodeError(`no plane ${index} across voxel axis ${'ijk'[axis]} (it has ${size[axis]})`);
  if (!(Number.isInteger(time) && time >= 0 && time < size[3]!))
    throw new DecodeError(`no volume ${time} in this series (it has ${size[3]})`);
}

/** Stored slices of one size, in slice order, as a {@link VoxelGrid} of one volume (row 0 of each is its highest j). */
export function sliceGrid(slices: readonly Raster[], spacing: [number, number, number]): VoxelGrid {
  const first = slices[0];
  if (!first) throw new DecodeError('a volume needs at least one slice');
  const { width, height, bands } = first;
  const odd = slices.findIndex((slice) => slice.width !== width || slice.height !== height || slice.bands !== bands);
  if (odd >= 0)
    throw new DecodeError(
      `slice ${odd + 1} of the volume is ${slices[odd]!.width}×${slices[odd]!.height}×${slices[odd]!.bands}, ` +
        `the first is ${width}×${height}×${bands}: planes need slices of one size`,
    );
  const plane = width * height;
  return {
    size: [width, height, slices.length, 1],
    spacing,
    sampleType: slices.some((slice) => slice.sampleType !== first.sampleType) ? 'float32' : first.sampleType,
    bands,
    read: (index, band) => {
      const k = Math.floor(index / plane);
      const within = index - k * plane;
      const j = Math.floor(within / width);
      return slices[k]!.values[((height - 1 - j) * width + (within - j * width)) * bands + band]!;
    },
  };
}

/** The in-plane axes of a plane cut across `axis`: [columns, rows]. */
export function inPlaneAxes(axis: 0 | 1 | 2): [number, number] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
}

/** Width × height of a plane cut across `axis`, after resampling to square pixels. */
export function planeSize(
  size: readonly number[],
  spacing: readonly number[],
  axis: 0 | 1 | 2,
): { width: number; height: number } {
  const [u, v] = inPlaneAxes(axis);
  const fine = Math.min(spacing[u]!, spacing[v]!);
  return { width: squareCount(size[u]!, spacing[u]!, fine), height: squareCount(size[v]!, spacing[v]!, fine) };
}

function squareCount(count: number, spacing: number, fine: number): number {
  return spacing > fine ? Math.max(1, Math.round((count * spacing) / fine)) : count;
}

/** One plane in the file's units at its voxel grid (no resampling), rows from high to low. */
export function readPlane(volume: VoxelGrid, axis: 0 | 1 | 2, index: number, time = 0): Raster {
  if (volume.plane) return volume.plane(axis, index, time);
  const { size, bands } = volume;
  checkPlane(size, axis, index, time);
  const [u, v] = inPlaneAxes(axis);
  const width = size[u]!;
  const height = size[v]!;
  const strides = [1, size[0], size[0] * size[1]];
  const base = time * size[0] * size[1] * size[2] + index * strides[axis]!;
  const values = allocateValues(volume.sampleType, width * height * bands);
  for (let row = 0; row < height; row++) {
    const along = height - 1 - row;
    for (let column = 0; column < width; column++) {
      const voxel = base + column * strides[u]! + along * strides[v]!;
      for (let band = 0; band < bands; band++) values[(row * width + column) * bands + band] = volume.read(voxel, band);
    }
  }
  return { width, height, bands, sampleType: volume.sampleType, values };
}

/**
 * Resamples a raster to `width` × `height`, linearly along each axis whose count changes
 * (centres aligned; the ends repeat the edge voxel). Unchanged when the size is the same.
 */
export function resampleLinear(raster: Raster, width: number, height: number): Raster {
  if (width === raster.width && height === raster.height) return raster;
  const { bands } = raster;
  const values = new Float32Array(width * height * bands);
  const taps = (from: number, to: number) =>
    Array.from({ length: to }, (_, target) => {
      const position = Math.min(Math.max(((target + 0.5) * from) / to - 0.5, 0), from - 1);
      const low = Math.floor(position);
      return { low, high: Math.min(low + 1, from - 1), weight: position - low };
    });
  const columns = taps(raster.width, width);
  const rows = taps(raster.height, height);
  const source = raster.values;
  for (let y = 0; y < height; y++) {
    const { low: y0, high: y1, weight: wy } = rows[y]!;
    for (let x = 0; x < width; x++) {
      const { low: x0, high: x1, weight: wx } = columns[x]!;
      for (let band = 0; band < bands; band++) {
        const at = (row: number, column: number) => source[(row * raster.width + column) * bands + band]!;
        const top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx;
        const bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx;
        values[(y * width + x) * bands + band] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return { width, height, bands, sampleType: 'float32', values };
}

/**
 * The sample of a {@link VolumePlane}: the plane and its 2n neighbours (clamped at the ends),
 * each resampled to square pixels, stacked as bands plane-major.
 */
export function readVolumePlane(volume: VoxelGrid, plane: VolumePlane): Raster {
  const { axis, index, time, neighbours } = plane;
  const count = volume.size[axis]!;
  const { width, height } = planeSize(volume.size, volume.spacing, axis);
  const planes: Raster[] = [];
  for (let offset = -neighbours; offset <= neighbours; offset++)
    planes.push(readPlane(volume, axis, Math.min(Math.max(index + offset, 0), count - 1), time));
  return planeSample(planes, width, height);
}

/**
 * Planes at their voxel grid (a plane and its neighbours, in order) as one sample: each resampled
 * to `width` × `height`, stacked as bands plane-major.
 */
export function planeSample(rawPlanes: readonly Raster[], width: number, height: number): Raster {
  const planes = rawPlanes.map((raw) => resampleLinear(raw, width, height));
  if (planes.length === 1) return planes[0]!;
  const bands = planes[0]!.bands;
  const total = bands * planes.length;
  const types = new Set(planes.map((part) => part.sampleType));
  const sampleType = types.size === 1 ? planes[0]!.sampleType : 'float32';
  const values = allocateValues(sampleType, width * height * total);
  planes.forEach((part, slot) => {
    for (let pixel = 0; pixel < width * height; pixel++) {
      for (let band = 0; band < bands; band++)
        values[pixel * total + slot * bands + band] = part.values[pixel * bands + band]!;
    }
  });
  return { width, height, bands: total, sampleType, values };
}

/**
 * The volume last read for planes, kept while it is unchanged: planes of one volume are read one
 * after another, so a NIfTI file is opened (and a .nii.gz inflated to disk) once rather than once
 * per plane, and reads asking for it while it opens share the one opening. A NIfTI file is kept
 * open, not in memory (its planes are read by offsets); a series opened by {@link openSeries} is
 * held in memory (its slices; 2-D training reads series planes by `series-slices.ts` instead).
 * One volume at most is kept, and it is let go (its file closed) after {@link VOLUME_KEPT_MS}
 * without reads.
 */
let keptVolume: { key: string; grid: Promise<VoxelGrid> } | null = null;
let forgetVolume: NodeJS.Timeout | undefined;

/** How long the last volume read for planes stays in memory after its last read. */
export const VOLUME_KEPT_MS = 30_000;

function forget(): void {
  // Closed on a later turn: every read already given this grid reads it synchronously in the
  // microtasks that follow its opening, so none finds it closed.
  keptVolume?.grid.then(
    (grid) => setImmediate(() => grid.close?.()),
    () => {}, // its reader was told why it failed
  );
  keptVolume = null;
}

async function keptGrid(key: string, load: () => Promise<VoxelGrid>): Promise<VoxelGrid> {
  if (keptVolume?.key !== key) {
    forget(); // let the previous volume go before reading the next
    const kept = { key, grid: load() };
    keptVolume = kept;
    kept.grid.catch(() => {
      if (keptVolume === kept) keptVolume = null; // a failed opening is not kept
    });
  }
  clearTimeout(forgetVolume);
  forgetVolume = setTimeout(forget, VOLUME_KEPT_MS);
  forgetVolume.unref();
  return keptVolume!.grid;
}

/** The NIfTI volume in a file, read once while its size and modification time hold. */
export async function openVolumeFile(file: string): Promise<VoxelGrid> {
  const { size, mtimeMs } = await stat(file);
  return keptGrid(`nifti\0${file}\0${size}\0${mtimeMs}`, async () => niftiGrid(await openNiftiFile(file)));
}

/** One stored slice of a series: its file and the frame within it. */
export interface SeriesSlice {
  path: string;
  frame: number;
}

/**
 * A series of stored slices (a DICOM series, in slice order) as one volume, each slice read with
 * `readSlice` once while the series stays the one read (keyed by its files and their sizes and
 * modification times).
 */
export async function openSeries(
  slices: readonly SeriesSlice[],
  spacing: [number, number, number],
  readSlice: (slice: SeriesSlice) => Promise<Raster>,
): Promise<VoxelGrid> {
  const stamps = await Promise.all(
    [...new Set(slices.map((slice) => slice.path))].map(async (file) => {
      const { size, mtimeMs } = await stat(file);
      return `${file}\0${size}\0${mtimeMs}`;
    }),
  );
  const key = `series\0${slices.map((slice) => `${slice.path}#${slice.frame}`).join('\0')}\0${stamps.join('\0')}`;
  return keptGrid(key, async () => {
    const rasters: Raster[] = [];
    for (const slice of slices) rasters.push(await readSlice(slice)); // one at a time: bounded by the volume itself
    return sliceGrid(rasters, spacing);
  });
}
