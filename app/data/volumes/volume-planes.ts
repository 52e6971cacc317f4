/**
 * 2-D planes of a NIfTI volume along any of its three voxel axes, for training on volumes.
 *
 * - Which voxel axis an anatomical plane cuts across comes from the affine's axis codes
 *   (`nifti.ts` `axisCodes`): axial cuts the axis running S–I, coronal A–P, sagittal L–R. A file
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
import { readFile, stat } from 'node:fs/promises';
import type { VolumeSampling } from '../../contract';
import { DecodeError } from '../formats/decode';
import { axisCodes, readNifti, type NiftiVolume } from '../formats/nifti';
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
}

/** World-axis letters of each anatomical plane's normal. */
const NORMAL_LETTERS: Readonly<Record<Exclude<VolumeSampling['axis'], 'all'>, string>> = { axial: 'SI', coronal: 'AP', sagittal: 'LR' };

/** The voxel axis (0 i, 1 j, 2 k) an anatomical plane cuts across, from the volume's affine. */
export function voxelAxisOf(affine: number[][], plane: Exclude<VolumeSampling['axis'], 'all'>): 0 | 1 | 2 {
  const codes = [...axisCodes(affine)];
  const world = codes.map((letter) => Object.values(NORMAL_LETTERS).findIndex((letters) => letters.includes(letter)));
  if (new Set(world).size !== 3) {
    throw new DecodeError(`the volume's axes (${codes.join('')}) do not each run along another of L–R, A–P, S–I, so its ${plane} planes cannot be cut along a voxel axis`);
  }
  return codes.findIndex((letter) => NORMAL_LETTERS[plane].includes(letter)) as 0 | 1 | 2;
}

/** The voxel axes an anatomical choice cuts across ('all': the three, axial first). */
export function voxelAxesOf(affine: number[][], choice: VolumeSampling['axis']): (0 | 1 | 2)[] {
  if (choice !== 'all') return [voxelAxisOf(affine, choice)];
  return (['axial', 'coronal', 'sagittal'] as const).map((plane) => voxelAxisOf(affine, plane));
}

/** The in-plane axes of a plane cut across `axis`: [columns, rows]. */
export function inPlaneAxes(axis: 0 | 1 | 2): [number, number] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
}

/** Width × height of a plane cut across `axis`, after resampling to square pixels. */
export function planeSize(size: readonly number[], spacing: readonly number[], axis: 0 | 1 | 2): { width: number; height: number } {
  const [u, v] = inPlaneAxes(axis);
  const fine = Math.min(spacing[u]!, spacing[v]!);
  return { width: squareCount(size[u]!, spacing[u]!, fine), height: squareCount(size[v]!, spacing[v]!, fine) };
}

function squareCount(count: number, spacing: number, fine: number): number {
  return spacing > fine ? Math.max(1, Math.round((count * spacing) / fine)) : count;
}

/** One plane in the file's units at its voxel grid (no resampling), rows from high to low. */
export function readPlane(volume: NiftiVolume, axis: 0 | 1 | 2, index: number, time = 0): Raster {
  const { size, datatype, slope, intercept, littleEndian, voxels } = volume;
  if (!(Number.isInteger(index) && index >= 0 && index < size[axis]!)) throw new DecodeError(`no plane ${index} across voxel axis ${'ijk'[axis]} (it has ${size[axis]})`);
  if (!(Number.isInteger(time) && time >= 0 && time < size[3])) throw new DecodeError(`no volume ${time} in this NIfTI series (it has ${size[3]})`);
  const [u, v] = inPlaneAxes(axis);
  const width = size[u]!;
  const height = size[v]!;
  const { bands, bytes } = datatype;
  const componentBytes = bands > 1 ? 1 : bytes;
  const strides = [1, size[0], size[0] * size[1]];
  const base = time * size[0] * size[1] * size[2] + index * strides[axis]!;
  const values = allocateValues(volume.sampleType, width * height * bands);
  for (let row = 0; row < height; row++) {
    const along = height - 1 - row;
    for (let column = 0; column < width; column++) {
      const offset = (base + column * strides[u]! + along * strides[v]!) * bytes;
      for (let band = 0; band < bands; band++) {
        values[(row * width + column) * bands + band] = datatype.read(voxels, offset + band * componentBytes, littleEndian) * slope + intercept;
      }
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
  const taps = (from: number, to: number) => Array.from({ length: to }, (_, target) => {
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
export function readVolumePlane(volume: NiftiVolume, plane: VolumePlane): Raster {
  const { axis, index, time, neighbours } = plane;
  const count = volume.size[axis]!;
  const { width, height } = planeSize(volume.size, volume.spacing, axis);
  const planes: Raster[] = [];
  for (let offset = -neighbours; offset <= neighbours; offset++) {
    const at = Math.min(Math.max(index + offset, 0), count - 1);
    planes.push(resampleLinear(readPlane(volume, axis, at, time), width, height));
  }
  if (planes.length === 1) return planes[0]!;
  const bands = planes[0]!.bands;
  const total = bands * planes.length;
  const values = allocateValues(planes[0]!.sampleType, width * height * total);
  planes.forEach((part, slot) => {
    for (let pixel = 0; pixel < width * height; pixel++) {
      for (let band = 0; band < bands; band++) values[pixel * total + slot * bands + band] = part.values[pixel * bands + band]!;
    }
  });
  return { width, height, bands: total, sampleType: planes[0]!.sampleType, values };
}

/**
 * The volume file last read for planes, kept while its size and modification time stay the same:
 * a coronal or sagittal plane needs the whole volume, and planes of one volume are read one after
 * another, so each file is read and inflated once rather than once per plane. One volume at most
 * is held, and it is let go after {@link VOLUME_KEPT_MS} without reads.
 */
let keptVolume: { path: string; size: number; mtimeMs: number; volume: NiftiVolume } | null = null;
let forgetVolume: NodeJS.Timeout | undefined;

/** How long the last volume file read for planes stays parsed after its last read. */
export const VOLUME_KEPT_MS = 30_000;

/** The NIfTI volume in a file, read once while it is unchanged (see {@link keptVolume}). */
export async function openVolumeFile(file: string): Promise<NiftiVolume> {
  const { size, mtimeMs } = await stat(file);
  let volume = keptVolume && keptVolume.path === file && keptVolume.size === size && keptVolume.mtimeMs === mtimeMs ? keptVolume.volume : null;
  if (!volume) {
    keptVolume = null; // let the previous volume go before inflating the next
    volume = readNifti(new Uint8Array(await readFile(file)));
    keptVolume = { path: file, size, mtimeMs, volume };
  }
  clearTimeout(forgetVolume);
  forgetVolume = setTimeout(() => (keptVolume = null), VOLUME_KEPT_MS);
  forgetVolume.unref();
  return volume;
}
