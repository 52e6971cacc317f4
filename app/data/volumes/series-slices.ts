/**
 * Planes of a series of stored slices (a DICOM series) read from only the slices they need, so
 * that training on a series never holds it whole:
 *
 * - a plane across k (axial, the stored slices) and its 2.5-D neighbours read their 2n + 1 slices;
 * - a plane across i or j (sagittal, coronal) needs a column or row of every slice: the slices are
 *   read one after another and each gives its part of the plane and its neighbours, so at most one
 *   slice beyond the cache is held while the plane is cut.
 *
 * Decoded slices are kept in one least-recently-used cache bounded by bytes ({@link SliceCache},
 * {@link DEFAULT_SERIES_SLICES}), shared by every series read in the process: a series that fits
 * is decoded once for all its planes, a larger one is read again as its planes need it. A kept
 * slice is used only while its file's size and modification time are what they were when it was
 * read, and a slice being read is read once however many planes ask for it at the same time.
 *
 * The planes equal those cut from the whole series held in memory (`sliceGrid` + `readVolumePlane`,
 * tested), except that their sample type is that of the slices they read (the whole series' is
 * float32 as soon as any of its slices differs).
 */
import fs from 'node:fs';
import { DecodeError } from '../formats/decode';
import { allocateValues, type Raster } from '../formats/raster';
import { planeSample, planeSize, type SeriesSlice, type VolumePlane } from './volume-planes';

/** How series slices are kept by default. */
export const DEFAULT_SERIES_SLICES = {
  /** Bytes of decoded slices kept over all series: 500 CT slices of 512² int16 are 250 MiB. */
  cacheBytes: 256 * 2 ** 20,
};

/** Reads one stored slice in its own units. */
export type ReadSlice = (slice: SeriesSlice) => Promise<Raster>;

interface KeptSlice {
  raster: Promise<Raster>;
  size: number;
  mtimeMs: number;
  /** Bytes of its values once read (0 while reading). */
  bytes: number;
}

/** Decoded slices, least recently used first, within a byte budget. */
export class SliceCache {
  private readonly kept = new Map<string, KeptSlice>();
  private heldBytes = 0;

  /** @param maxBytes bytes of decoded slices kept (0: none, every read goes to the file). */
  constructor(public maxBytes: number) {}

  /** Bytes of decoded slices held now. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** The slice, from the cache while its file is unchanged, else read with `read`. */
  get(slice: SeriesSlice, read: ReadSlice): Promise<Raster> {
    const key = `${slice.path}#${slice.frame}`;
    const { size, mtimeMs } = fs.statSync(slice.path);
    const found = this.kept.get(key);
    if (found && found.size === size && found.mtimeMs === mtimeMs) {
      this.kept.delete(key); // re-inserted last: most recently used
      this.kept.set(key, found);
      return found.raster;
    }
    if (found) this.drop(key);
    const raster = read(slice).then(compact);
    if (this.maxBytes <= 0) return raster;
    const entry: KeptSlice = { raster, size, mtimeMs, bytes: 0 };
    this.kept.set(key, entry);
    raster.then(
      (value) => {
        if (this.kept.get(key) !== entry) return;
        entry.bytes = value.values.byteLength;
        this.heldBytes += entry.bytes;
        this.evict();
      },
      () => {
        if (this.kept.get(key) === entry) this.kept.delete(key); // a failed read is not kept
      },
    );
    return raster;
  }

  /** Lets every kept slice go. */
  clear(): void {
    this.kept.clear();
    this.heldBytes = 0;
  }

  private drop(key: string): void {
    const entry = this.kept.get(key);
    if (!entry) return;
    this.kept.delete(key);
    this.heldBytes -= entry.bytes;
  }

  private evict(): void {
    for (const [key, entry] of this.kept) {
      if (this.heldBytes <= this.maxBytes) break;
      if (entry.bytes > 0) this.drop(key); // slices still being read have no bytes to give back
    }
  }
}

/** The process's cache of series slices (its budget may be changed, as the benchmark does). */
export const seriesSlices = new SliceCache(DEFAULT_SERIES_SLICES.cacheBytes);

/** The raster with values of its own (a view into a larger buffer would keep that buffer alive). */
function compact(raster: Raster): Raster {
  const { values } = raster;
  if (values.byteLength === values.buffer.byteLength) return raster;
  return { ...raster, values: values.slice() };
}

/**
 * The sample of a {@link VolumePlane} of a series (`plane.series`): the plane and its 2n
 * neighbours (clamped at the series' ends), each resampled to square pixels, stacked as bands
 * plane-major — read from only the slices they need (see the file comment).
 */
export async function readSeriesPlane(
  plane: VolumePlane,
  readSlice: ReadSlice,
  cache: SliceCache = seriesSlices,
): Promise<Raster> {
  const { series, axis, index, time, neighbours } = plane;
  if (!series) throw new Error('readSeriesPlane needs a plane of a series');
  const { slices, spacing } = series;
  const count = slices.length;
  if (count === 0) throw new DecodeError('a volume needs at least one slice');
  if (time !== 0) throw new DecodeError(`no volume ${time} in this series (it has 1)`);
  // The first slice the plane needs gives the series' size (slices of one size, checked on reading).
  const first = await cache.get(slices[axis === 2 ? clamp(index - neighbours, count) : 0]!, readSlice);
  const size = [first.width, first.height, count];
  if (!(Number.isInteger(index) && index >= 0 && index < size[axis]!))
    throw new DecodeError(`no plane ${index} across voxel axis ${'ijk'[axis]} (it has ${size[axis]})`);
  const at = Array.from({ length: 2 * neighbours + 1 }, (_, offset) => clamp(index + offset - neighbours, size[axis]!));
  const read = async (k: number) => checkSlice(await cache.get(slices[k]!, readSlice), first, k);
  const planes = axis === 2 ? await Promise.all(at.map(read)) : await crossPlanes(axis, at, count, first, read);
  const { width, height } = planeSize(size, spacing, axis);
  return planeSample(planes, width, height);
}

/**
 * The files a plane of a series reads, each once, in slice order: its slice and neighbours'
 * files across k, every slice's file across i or j (empty for a plane of a NIfTI file).
 */
export function planeFiles(plane: VolumePlane): string[] {
  const slices = plane.series?.slices ?? [];
  if (slices.length === 0) return [];
  const read =
    plane.axis === 2
      ? Array.from(
          { length: 2 * plane.neighbours + 1 },
          (_, offset) => slices[clamp(plane.index + offset - plane.neighbours, slices.length)]!,
        )
      : slices;
  return [...new Set(read.map((slice) => slice.path))];
}

/** `index` clamped to 0 … count − 1 (a plane's neighbours past the ends repeat the end plane). */
function clamp(index: number, count: number): number {
  return Math.min(Math.max(index, 0), count - 1);
}

/** The slice, refused when its size or bands are not the first slice's. */
function checkSlice(slice: Raster, first: Raster, k: number): Raster {
  if (slice.width !== first.width || slice.height !== first.height || slice.bands !== first.bands)
    throw new DecodeError(
      `slice ${k + 1} of the volume is ${slice.width}×${slice.height}×${slice.bands}, ` +
        `the first is ${first.width}×${first.height}×${first.bands}: planes need slices of one size`,
    );
  return slice;
}

/**
 * Planes across i (axis 0) or j (axis 1) at the indices `at`, cut from the slices read one at a
 * time: row r of a plane is slice count − 1 − r (the top slice first), its columns run along j
 * (axis 0, from the slice's bottom row up) or i (axis 1).
 */
async function crossPlanes(
  axis: 0 | 1,
  at: number[],
  count: number,
  first: Raster,
  read: (k: number) => Promise<Raster>,
): Promise<Raster[]> {
  const { width: x, height: y, bands } = first;
  const width = axis === 0 ? y : x;
  const staged = at.map(() => new Float32Array(width * count * bands)); // every sample type fits exactly
  const types = new Set<Raster['sampleType']>();
  for (let k = 0; k < count; k++) {
    const slice = k === 0 ? first : await read(k); // the first slice was read for the size
    types.add(slice.sampleType);
    const row = count - 1 - k;
    at.forEach((index, slot) => {
      const target = staged[slot]!;
      for (let column = 0; column < width; column++) {
        // Stored row 0 is the highest j: voxel (i, j) lies at stored row y − 1 − j.
        const voxel = axis === 1 ? (y - 1 - index) * x + column : (y - 1 - column) * x + index;
        for (let band = 0; band < bands; band++)
          target[(row * width + column) * bands + band] = slice.values[voxel * bands + band]!;
      }
    });
  }
  const sampleType = types.size === 1 ? first.sampleType : 'float32';
  return staged.map((values) => {
    const typed = allocateValues(sampleType, values.length);
    typed.set(values);
    return { width, height: count, bands, sampleType, values: typed };
  });
}
