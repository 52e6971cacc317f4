/**
 * A project's volumes as whole 3-D samples, for the 3-D MAE: the stored slice rows of each NIfTI
 * volume and each DICOM series grouped into one `VolumeRef` (its rows, label, split group, size
 * and spacing), and the `VoxelGrid` of a ref opened for crops. Unlike `openVolumeFile`, which
 * keeps one volume for planes, a training run holds a few volumes open at once (`VolumeShelf`).
 *
 * Sizes and spacings here are in crop order (slices, rows, columns) = voxel axes (k, j, i).
 */
import { StudioError, type ImageMeta } from '../../contract';
import type { Raster } from '../formats/raster';
import { openNiftiFile } from '../formats/nifti-file';
import { niftiGrid, sliceGrid, type SeriesSlice, type VoxelGrid } from './volume-planes';

/** One stored volume as the 3-D MAE reads it. */
export interface VolumeRef {
  /** The volume's key in the project (`meta.volume.key`, else file and volume index). */
  key: string;
  /** Shown in errors and logs: the file (with its volume index when 4-D) or the series' first file. */
  name: string;
  /** The stored slice rows of the volume. */
  imageIds: number[];
  /** The split unit: the subject when known, else the volume. */
  group: string;
  /** The volume's label (its rows' folder label or the one set by hand); null when unlabelled. */
  label: string | null;
  /** Voxels (slices, rows, columns). */
  size: [number, number, number];
  /** Voxel spacing in mm (slices, rows, columns). */
  spacing: [number, number, number];
  channels: number;
  source: { kind: 'nifti'; path: string; time: number } | { kind: 'series'; slices: SeriesSlice[] };
}

/** A usable stored row as the grouping needs it. */
export interface VolumeSetRow {
  id: number;
  path: string;
  frame: number;
  label: string | null;
  width: number;
  height: number;
  channels: number;
  meta: ImageMeta | null;
}

/** Whether a row is a slice of a volume that can be read whole: a NIfTI volume, or a sound DICOM series. */
function wholeVolume(meta: ImageMeta | null): boolean {
  const volume = meta?.volume;
  if (!volume?.spacing) return false;
  if (volume.transform !== 'dicom') return true;
  return Boolean(volume.key && volume.orientation && !volume.problems?.length);
}

/**
 * Groups rows into volumes (in the order of each volume's first row). Rows that are not slices of
 * a whole volume (plain images, series with missing or duplicate slices) are counted, not used.
 */
export function collectVolumes(rows: readonly VolumeSetRow[]): { volumes: VolumeRef[]; notVolumes: number } {
  const byKey = new Map<string, { ref: VolumeRef; slices: { slice: number; path: string; frame: number }[] }>();
  let notVolumes = 0;
  for (const row of rows) {
    const volume = row.meta?.volume;
    if (!volume || !wholeVolume(row.meta)) {
      notVolumes += 1;
      continue;
    }
    const time = volume.volume ?? 0;
    const key = volume.key ?? `${row.path}:${time}`;
    let entry = byKey.get(key);
    if (!entry) {
      const [si, sj, sk] = volume.spacing!;
      const fileName = row.path.split(/[\\/]/).pop() ?? row.path;
      entry = {
        ref: {
          key,
          name: (volume.volumes ?? 1) > 1 ? `${fileName} (volume ${time + 1})` : fileName,
          imageIds: [],
          group: volume.group ?? key,
          label: row.label,
          size: [volume.slices, row.height, row.width],
          spacing: [sk, sj, si],
          channels: row.channels,
          source:
            volume.transform === 'dicom' ? { kind: 'series', slices: [] } : { kind: 'nifti', path: row.path, time },
        },
        slices: [],
      };
      byKey.set(key, entry);
    }
    entry.ref.imageIds.push(row.id);
    entry.slices.push({ slice: volume.slice, path: row.path, frame: row.frame });
  }
  const volumes = [...byKey.values()].map(({ ref, slices }) => {
    if (ref.source.kind !== 'series') return ref;
    // A series' volume is its kept slices in position order, as its planes are (volume-entries.ts).
    slices.sort((a, b) => a.slice - b.slice);
    const kept = slices.map(({ path, frame }) => ({ path, frame }));
    return {
      ...ref,
      size: [kept.length, ref.size[1], ref.size[2]] as [number, number, number],
      source: { kind: 'series' as const, slices: kept },
    };
  });
  return { volumes, notVolumes };
}

/**
 * A NIfTI grid whose voxels are read a stored slice at a time (one read per slice, kept for the
 * next voxels of it), so a crop costs one read per slice it spans rather than one per voxel.
 */
function sliceCachedGrid(grid: VoxelGrid, keptSlices: number): VoxelGrid {
  const plane = grid.plane;
  if (!plane) return grid;
  const [columns, rows, slices] = grid.size;
  const area = columns * rows;
  const kept = new Map<number, Raster>();
  return {
    ...grid,
    read: (index, band) => {
      const stack = Math.floor(index / area); // k + Z·t
      let raster = kept.get(stack);
      if (!raster) {
        raster = plane(2, stack % slices, Math.floor(stack / slices));
        kept.set(stack, raster);
        if (kept.size > keptSlices) kept.delete(kept.keys().next().value!);
      }
      const within = index - stack * area;
      const j = Math.floor(within / columns);
      return raster.values[((rows - 1 - j) * columns + (within - j * columns)) * grid.bands + band]!;
    },
  };
}

/** Reads one stored slice of a series (the studio's readers; tests may read their own). */
export type SliceReader = (slice: SeriesSlice, volume: VolumeRef) => Promise<Raster>;

/** Opens a volume's voxels: a NIfTI file by offsets, a series' slices read with `readSlice`. */
export async function openVolumeRef(ref: VolumeRef, readSlice: SliceReader): Promise<VoxelGrid> {
  try {
    if (ref.source.kind === 'nifti') {
      const grid = niftiGrid(await openNiftiFile(ref.source.path));
      // Enough slices for the deepest crop a laptop trains (and a little more).
      return sliceCachedGrid(grid, Math.min(grid.size[2], 160));
    }
    const rasters: Raster[] = [];
    for (const slice of ref.source.slices) rasters.push(await readSlice(slice, ref));
    const [sk, sj, si] = ref.spacing;
    return sliceGrid(rasters, [si, sj, sk]);
  } catch (error) {
    throw new StudioError('INVALID_ARGUMENT', `${ref.name}: ${(error as Error).message}`);
  }
}

/**
 * The volumes of a run, opened on demand and kept while they are among the `capacity` most
 * recently used (a series lives in memory, a NIfTI file stays open), so a step's crops from a
 * handful of volumes do not reopen them.
 */
export class VolumeShelf {
  readonly #open = new Map<number, VoxelGrid>();

  constructor(
    readonly refs: readonly VolumeRef[],
    private readonly readSlice: SliceReader,
    private readonly capacity = 8,
  ) {}

  /** The grid of volume `index`, opened when it is not kept. */
  async grid(index: number): Promise<VoxelGrid> {
    const kept = this.#open.get(index);
    if (kept) {
      this.#open.delete(index);
      this.#open.set(index, kept);
      return kept;
    }
    const grid = await openVolumeRef(this.refs[index]!, this.readSlice);
    this.#open.set(index, grid);
    while (this.#open.size > this.capacity) {
      const [oldest, old] = this.#open.entries().next().value!;
      old.close?.();
      this.#open.delete(oldest);
    }
    return grid;
  }

  /** Closes every kept volume. */
  close(): void {
    for (const grid of this.#open.values()) grid.close?.();
    this.#open.clear();
  }
}
