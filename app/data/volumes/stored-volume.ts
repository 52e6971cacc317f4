/**
 * The whole volume a stored slice belongs to, as a {@link VoxelGrid}: a NIfTI file's volume (one
 * of a 4-D series) or a DICOM series' slices in order. What a 3-D view of one volume reads (the
 * 3-D mask preview); a plain image, a lone DICOM frame or a series with missing, duplicate or
 * mixed slices is refused, naming the image and why.
 */
import path from 'node:path';
import { StudioError, type ImageMeta, type VolumeMeta } from '../../contract';
import { readEntry } from '../batches';
import { openSeries, openVolumeFile, type VoxelGrid } from './volume-planes';

/** A stored row as the volume needs it. */
export interface StoredSlice {
  id: number;
  path: string;
  frame: number;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  meta: ImageMeta | null;
}

/** One volume, open for reading. */
export interface StoredVolume {
  grid: VoxelGrid;
  /** Which volume of a 4-D NIfTI series (0 for the rest). */
  time: number;
  /** The file, or the series' folder and slice count, for captions and errors. */
  name: string;
  /** Axis codes of its affine (`RAS`, `LPS`, …), when known. */
  orientation: string | null;
}

/**
 * Opens the volume of `image`. `slicesOf(key)` lists a DICOM series' stored slices in slice
 * order (the store's `volumeSlices`); a NIfTI volume is read from its file.
 */
export async function openStoredVolume(
  image: StoredSlice,
  slicesOf: (key: string) => readonly StoredSlice[],
): Promise<StoredVolume> {
  const volume = image.meta?.volume;
  const label = `image ${image.id} (${path.basename(image.path)})`;
  if (!volume?.key) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `${label} is not a slice of a volume (a NIfTI file or a DICOM series): the 3-D preview needs one; ` +
        'plain images are previewed in 2-D',
      { imageId: image.id },
    );
  }
  if (volume.transform !== 'dicom') {
    return {
      grid: await openVolumeFile(image.path),
      time: volume.volume ?? 0,
      name: path.basename(image.path),
      orientation: volume.orientation ?? null,
    };
  }
  return openSeriesVolume(image, volume, label, slicesOf(volume.key!));
}

async function openSeriesVolume(
  image: StoredSlice,
  volume: VolumeMeta,
  label: string,
  slices: readonly StoredSlice[],
): Promise<StoredVolume> {
  if (volume.problems?.length || !volume.spacing) {
    const why = volume.problems?.length ? volume.problems.join('; ') : 'its slices have no positions';
    throw new StudioError(
      'INVALID_ARGUMENT',
      `${label} belongs to a DICOM series that is not a whole volume (${why}): it cannot be cropped in 3-D`,
      { imageId: image.id },
    );
  }
  if (slices.length !== volume.slices) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `${label} belongs to a DICOM series of ${volume.slices} slices, of which ${slices.length} are ` +
        'imported without error: it cannot be cropped in 3-D',
      { imageId: image.id },
    );
  }
  const grid = await openSeries(
    slices.map((slice) => ({ path: slice.path, frame: slice.frame })),
    volume.spacing,
    (slice) => readEntry({ ...entryOf(image), path: slice.path, frame: slice.frame }),
  );
  return {
    grid,
    time: 0,
    name: `${path.basename(path.dirname(image.path))}/ (${slices.length} slices)`,
    orientation: volume.orientation ?? null,
  };
}

function entryOf(image: StoredSlice) {
  return {
    path: image.path,
    frame: image.frame,
    width: image.width,
    height: image.height,
    channels: image.channels,
    bitDepth: image.bitDepth,
  };
}
