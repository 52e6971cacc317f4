/**
 * Training samples of volumes as the channel plan's `volume` setting asks (`VolumeSampling`):
 * each NIfTI volume's stored rows (one per k slice) become the planes cut along the chosen
 * anatomical axis, or along all three, each with its 2.5-D neighbours. Its planes along k are the
 * stored slices still present (so slices excluded in Curate stay out); along i and j every plane
 * of the volume is a sample, once per volume. All samples of a volume come from rows of that
 * volume, so a split by volume (`split.ts`) keeps every plane of it on one side.
 *
 * Plane sizes come from the stored rows (width = i, height = j, slices = k) and the volume's
 * spacing, so entries carry the size the loader checks without opening any file.
 *
 * Not re-sliced (yet): DICOM series, whose slices are separate files. They, and plain images,
 * are refused with a clear message when the setting needs more than their stored slice.
 */
import { StudioError, type ImageMeta, type VolumeMeta, type VolumeSampling } from '../../contract';
import type { ImageEntry } from '../batches';
import { planeSize, voxelAxesOf } from './volume-planes';

/** A stored row as the entries need it: its entry and its metadata. */
export interface VolumeRow {
  entry: ImageEntry;
  meta: ImageMeta | null;
}

/** A NIfTI volume's placement (the reader's own `axis: 'k'` slices with a NIfTI transform). */
function niftiPlacement(meta: ImageMeta | null): VolumeMeta | null {
  const volume = meta?.volume;
  return volume && volume.transform !== 'dicom' && volume.spacing && volume.affine ? volume : null;
}

/**
 * Throws INVALID_ARGUMENT naming what cannot be sampled as `sampling` asks: DICOM series when
 * cut along another axis or with neighbours; images that are not volumes when with neighbours.
 */
export function checkVolumeSampling(metas: readonly (ImageMeta | null)[], sampling: VolumeSampling): void {
  const series = metas.filter((meta) => meta?.volume && !niftiPlacement(meta)).length;
  const flat = metas.filter((meta) => !meta?.volume).length;
  const resliced = sampling.axis !== 'axial' || sampling.neighbours > 0;
  if (series > 0 && resliced) {
    throw new StudioError('INVALID_ARGUMENT', `channelPlan.volume: ${series} ${series === 1 ? 'slice' : 'slices'} of DICOM series ${series === 1 ? 'is' : 'are'} kept, and only NIfTI volumes can be cut along other axes or read with neighbours yet; choose axial planes without neighbours, exclude the series, or convert them to NIfTI (dcm2niix)`);
  }
  if (flat > 0 && sampling.neighbours > 0) {
    const one = flat === 1;
    throw new StudioError('INVALID_ARGUMENT', `channelPlan.volume.neighbours: ${flat} kept ${one ? 'image is not a slice' : 'images are not slices'} of a volume, so ${one ? 'it has' : 'they have'} no neighbouring slices; set neighbours to 0 or exclude ${one ? 'it' : 'them'}`);
  }
}

/**
 * The training samples of `rows` under `sampling`: NIfTI rows become volume planes (see the file
 * comment); other rows are kept as they are (after {@link checkVolumeSampling}).
 */
export function volumeEntries(rows: readonly VolumeRow[], sampling: VolumeSampling): ImageEntry[] {
  checkVolumeSampling(rows.map((row) => row.meta), sampling);
  const out: ImageEntry[] = [];
  const done = new Set<string>();
  for (const { entry, meta } of rows) {
    const placement = niftiPlacement(meta);
    if (!placement) {
      out.push(entry);
      continue;
    }
    const size = [entry.width ?? 0, entry.height ?? 0, placement.slices];
    const time = placement.volume ?? 0;
    for (const axis of voxelAxesOf(placement.affine!, sampling.axis)) {
      const { width, height } = planeSize(size, placement.spacing!, axis);
      const sample = (index: number): ImageEntry => ({ ...entry, width, height, plane: { axis, index, time, neighbours: sampling.neighbours } });
      if (axis === 2) {
        out.push(sample(placement.slice));
        continue;
      }
      const key = `${placement.key ?? `${entry.path}:${time}`}#${axis}`;
      if (done.has(key)) continue;
      done.add(key);
      for (let index = 0; index < size[axis]!; index++) out.push(sample(index));
    }
  }
  return out;
}

/**
 * A stored row read as its own slice with the 2.5-D neighbours of `sampling` (probes and
 * fine-tuning keep one sample per labelled row); rows that are not NIfTI slices stay as they are.
 */
export function storedSliceEntry(row: VolumeRow, sampling: VolumeSampling | undefined): ImageEntry {
  const placement = niftiPlacement(row.meta);
  if (!sampling || !placement) return row.entry;
  const { width, height } = planeSize([row.entry.width ?? 0, row.entry.height ?? 0, placement.slices], placement.spacing!, 2);
  return { ...row.entry, width, height, plane: { axis: 2, index: placement.slice, time: placement.volume ?? 0, neighbours: sampling.neighbours } };
}
