/**
 * Training samples of volumes as the channel plan's `volume` setting asks (`VolumeSampling`):
 * the stored rows (one per slice) of each NIfTI volume and each DICOM series become the planes
 * cut along the chosen anatomical axis, or along all three, each with its 2.5-D neighbours. Its
 * planes along k are the stored slices still present (so slices excluded in Curate stay out of
 * them); along i and j every plane is a sample, once per volume — of a NIfTI file the whole
 * volume, of a series its kept slices in order (`plane.series`). All samples of a volume come
 * from rows of that volume, so a split by volume (`split.ts`) keeps every plane on one side.
 *
 * Plane sizes come from the stored rows (width = i, height = j, slices = k) and the volume's
 * spacing, so entries carry the size the loader checks without opening any file.
 *
 * Refused with a clear message when the setting needs more than their stored slice: series
 * without a sound geometry (no positions; missing, duplicate or mixed slices) and plain images.
 */
import { StudioError, type ImageMeta, type VolumeMeta, type VolumeSampling } from '../../contract';
import type { ImageEntry } from '../batches';
import { planeSize, voxelAxesOf, type SeriesSlice } from './volume-planes';

/** A stored row as the entries need it: its entry and its metadata. */
export interface VolumeRow {
  entry: ImageEntry;
  meta: ImageMeta | null;
}

/** A NIfTI volume's placement (the reader's own `axis: 'k'` slices with a NIfTI transform). */
function niftiPlacement(meta: ImageMeta | null): VolumeMeta | null {
  const volume = meta?.volume;
  return volume && volume.transform !== 'dicom' && volume.spacing && volume.orientation ? volume : null;
}

/** A DICOM series slice's placement, when the series has geometry and nothing wrong with it. */
function seriesPlacement(meta: ImageMeta | null): VolumeMeta | null {
  const volume = meta?.volume;
  return volume &&
    volume.transform === 'dicom' &&
    volume.key &&
    volume.spacing &&
    volume.orientation &&
    !volume.problems?.length
    ? volume
    : null;
}

/**
 * Throws INVALID_ARGUMENT naming what cannot be sampled as `sampling` asks: slices of DICOM
 * series without a usable geometry (no positions, or missing, duplicate or mixed slices) when cut
 * along another axis or with neighbours; images that are not volumes when with neighbours.
 */
export function checkVolumeSampling(metas: readonly (ImageMeta | null)[], sampling: VolumeSampling): void {
  const doubtful = metas.filter((meta) => meta?.volume && !niftiPlacement(meta) && !seriesPlacement(meta)).length;
  const flat = metas.filter((meta) => !meta?.volume).length;
  const resliced = sampling.axis !== 'axial' || sampling.neighbours > 0;
  if (doubtful > 0 && resliced) {
    const one = doubtful === 1;
    throw new StudioError(
      'INVALID_ARGUMENT',
      `channelPlan.volume: ${doubtful} kept ${one ? 'slice belongs' : 'slices belong'} to DICOM series ` +
        "without positions or with missing, duplicate or mixed slices (see the volume's problems), " +
        'which cannot be cut along other axes or read with neighbours; ' +
        `choose axial planes without neighbours or exclude ${one ? 'it' : 'them'}`,
    );
  }
  if (flat > 0 && sampling.neighbours > 0) {
    const one = flat === 1;
    throw new StudioError(
      'INVALID_ARGUMENT',
      `channelPlan.volume.neighbours: ${flat} kept ${one ? 'image is not a slice' : 'images are not slices'} ` +
        `of a volume, so ${one ? 'it has' : 'they have'} no neighbouring slices; ` +
        `set neighbours to 0 or exclude ${one ? 'it' : 'them'}`,
    );
  }
}

/** One volume's kept rows, in slice order, with what planes of it need. */
interface VolumeGroup {
  rows: VolumeRow[];
  placement: VolumeMeta;
  /** Voxels along i, j, k. */
  size: [number, number, number];
  series?: { slices: SeriesSlice[]; spacing: [number, number, number] };
}

/** Rows grouped by volume, in the order of each volume's first row; rows of no volume stand alone. */
function groupVolumes(rows: readonly VolumeRow[]): (VolumeRow | VolumeGroup)[] {
  const order: (VolumeRow | VolumeGroup)[] = [];
  const groups = new Map<string, VolumeGroup>();
  for (const row of rows) {
    const placement = niftiPlacement(row.meta) ?? seriesPlacement(row.meta);
    if (!placement) {
      order.push(row);
      continue;
    }
    const key = placement.key ?? `${row.entry.path}:${placement.volume ?? 0}`;
    const group = groups.get(key);
    if (group) group.rows.push(row);
    else {
      const created: VolumeGroup = {
        rows: [row],
        placement,
        size: [row.entry.width ?? 0, row.entry.height ?? 0, placement.slices],
      };
      groups.set(key, created);
      order.push(created);
    }
  }
  for (const group of groups.values()) {
    if (group.placement.transform !== 'dicom') continue;
    // A series' volume is its kept slices in order.
    group.rows.sort((a, b) => a.meta!.volume!.slice - b.meta!.volume!.slice);
    group.size[2] = group.rows.length;
    group.series = {
      slices: group.rows.map(({ entry }) => ({ path: entry.path, frame: entry.frame ?? 0 })),
      spacing: group.placement.spacing!,
    };
  }
  return order;
}

function isGroup(item: VolumeRow | VolumeGroup): item is VolumeGroup {
  return 'placement' in item;
}

/**
 * The training samples of `rows` under `sampling`: rows of NIfTI volumes and of DICOM series
 * become volume planes (see the file comment); other rows are kept as they are (after
 * {@link checkVolumeSampling}).
 */
export function volumeEntries(rows: readonly VolumeRow[], sampling: VolumeSampling): ImageEntry[] {
  checkVolumeSampling(
    rows.map((row) => row.meta),
    sampling,
  );
  return groupVolumes(rows).flatMap((item) => (isGroup(item) ? planesOf(item, sampling) : [item.entry]));
}

/** The samples of one volume: per voxel axis of `sampling`, its planes (along k, its kept slices). */
function planesOf(group: VolumeGroup, sampling: VolumeSampling): ImageEntry[] {
  const { placement, size, series } = group;
  const time = placement.volume ?? 0;
  const samples: ImageEntry[] = [];
  for (const axis of voxelAxesOf(placement.orientation!, sampling.axis)) {
    const { width, height } = planeSize(size, placement.spacing!, axis);
    const sample = (entry: ImageEntry, index: number): ImageEntry => ({
      ...entry,
      width,
      height,
      plane: { axis, index, time, neighbours: sampling.neighbours, ...(series && { series }) },
    });
    if (axis === 2) {
      // A NIfTI file's kept slices are planes at their own index; a series' at their place in it.
      group.rows.forEach((row, position) =>
        samples.push(sample(row.entry, series ? position : row.meta!.volume!.slice)),
      );
    } else {
      for (let index = 0; index < size[axis]; index++) samples.push(sample(group.rows[0]!.entry, index));
    }
  }
  return samples;
}

/**
 * Each stored row read as its own slice with the 2.5-D neighbours of `sampling`, in the order of
 * `rows` (probes and fine-tuning keep one sample per labelled row); rows that are not slices of a
 * volume stay as they are.
 */
export function storedSliceEntries(rows: readonly VolumeRow[], sampling: VolumeSampling | undefined): ImageEntry[] {
  if (!sampling) return rows.map((row) => row.entry);
  const planes = new Map<VolumeRow, ImageEntry>();
  for (const item of groupVolumes(rows)) {
    if (!isGroup(item)) continue;
    const { width, height } = planeSize(item.size, item.placement.spacing!, 2);
    item.rows.forEach((row, position) =>
      planes.set(row, {
        ...row.entry,
        width,
        height,
        plane: {
          axis: 2,
          index: item.series ? position : row.meta!.volume!.slice,
          time: item.placement.volume ?? 0,
          neighbours: sampling.neighbours,
          ...(item.series && { series: item.series }),
        },
      }),
    );
  }
  return rows.map((row) => planes.get(row) ?? row.entry);
}
