/**
 * SQL fragments over the `images` table and the mapping of its rows to the contract's types:
 * which rows are good, usable or grid tiles, how a selection and a folder become conditions.
 */
import { StudioError, type ImageQuery, type ImageSelection, type ImageSummary, type VolumeMeta } from '../contract';

/** A row of `images` as the summary and detail queries read it. */
export interface ImageRow {
  id: number;
  project_id: number;
  path: string;
  sha256: string | null;
  size_bytes: number | null;
  width: number | null;
  height: number | null;
  channels: number | null;
  bit_depth: number | null;
  format: string | null;
  /** The image's label: its folder's (`folder_label`) unless set by hand (`labels.ts` keeps both). */
  label: string | null;
  split: 'train' | 'val' | 'test' | null;
  excluded: number;
  error: string | null;
  stats: string | null;
  thumbnail: string | null;
  imported_at: string;
  frame: number;
  meta: string | null;
  /** The sample's name, extracted from `meta` by the summary query. */
  sample?: string | null;
  /** The folder's label, whatever `label` says now. */
  folder_label: string | null;
  overridden: number;
  /** The volume this slice belongs to, extracted from `meta` (JSON), for its grid tile. */
  volume?: string | null;
}

/** SQL condition of an image whose label was set by hand (`label_overrides`, `labels.ts`). */
export const OVERRIDDEN = 'EXISTS (SELECT 1 FROM label_overrides WHERE label_overrides.image_id = images.id)';

/**
 * SQL condition of a grid tile: an image, or the middle slice of a volume (every other slice of
 * a volume is hidden from the grid, which shows one tile per volume). Migration 9's partial index
 * repeats it word for word; change both together.
 */
export const GRID_TILE =
  "(json_extract(meta, '$.volume.key') IS NULL OR json_extract(meta, " +
  "'$.volume.slice') = json_extract(meta, '$.volume.slices') / 2)";

/** The columns `toSummary` reads. */
export const SUMMARY_COLUMNS =
  `id, path, label, folder_label, ${OVERRIDDEN} AS overridden, width, height, channels, bit_depth, format, error, ` +
  `thumbnail, excluded, split, frame, json_extract(meta, '$.sample') ` +
  `AS sample, json_extract(meta, '$.volume') AS volume`;

/** ORDER BY clause of each grid sort. */
export const SORTS: Record<NonNullable<ImageQuery['sort']>, string> = {
  path: 'path',
  label: 'label, path',
  size: 'size_bytes DESC, path, frame', // "File size": bytes on disk, largest first
  imported: 'id',
  channels: 'channels DESC, path, frame',
  bitDepth: 'bit_depth DESC, path, frame',
};

/** The grid's view of a row. */
export function toSummary(row: ImageRow): ImageSummary {
  return {
    id: row.id,
    path: row.path,
    label: row.label,
    width: row.width,
    height: row.height,
    channels: row.channels,
    bitDepth: row.bit_depth,
    format: row.format,
    error: row.error,
    hasThumbnail: row.thumbnail !== null,
    excluded: row.excluded !== 0,
    split: row.split,
    frame: row.frame,
    sample: row.sample ?? null,
    relabelled: row.overridden !== 0,
    folderLabel: row.folder_label,
    ...(row.volume && volumeTile(JSON.parse(row.volume) as VolumeMeta)),
  };
}

/** How a volume's tile names it: its slice count (and which volume of a series), and its problems. */
export function volumeTile(volume: VolumeMeta): Pick<ImageSummary, 'sample' | 'slices' | 'volumeProblems'> {
  if (!volume.key) return {};
  const series =
    volume.volumes && volume.volumes > 1 ? `volume ${(volume.volume ?? 0) + 1} of ${volume.volumes} · ` : '';
  return {
    sample: `${series}${volume.slices} slice${volume.slices === 1 ? '' : 's'}`,
    slices: volume.slices,
    ...(volume.problems?.length && { volumeProblems: volume.problems }),
  };
}

/** `folder` as a LIKE prefix of paths under it, with LIKE's wildcards escaped. */
export function folderPattern(folder: string): string {
  const prefix = folder.endsWith('/') ? folder : `${folder}/`;
  return `${prefix.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
}

/**
 * SQL condition of the images a selection names (by id and/or under a folder), adding its
 * parameters to `params`; INVALID_ARGUMENT when it names neither.
 */
export function selectionCondition(selection: ImageSelection, params: Record<string, unknown>): string {
  if (!selection.imageIds?.length && !selection.folder)
    throw new StudioError('INVALID_ARGUMENT', 'select images by imageIds or folder');
  const where: string[] = [];
  if (selection.imageIds?.length) {
    // A volume is one tile in the grid: selecting it selects every slice of it.
    const volumesOfIds =
      "SELECT json_extract(meta, '$.volume.key') FROM images WHERE " +
      'project_id = @projectId AND id IN (SELECT value FROM json_each(@ids))';
    where.push(
      `(id IN (SELECT value FROM json_each(@ids)) OR json_extract(meta, '$.volume.key') IN (${volumesOfIds}))`,
    );
    params.ids = JSON.stringify(selection.imageIds);
  }
  if (selection.folder) {
    where.push("path LIKE @folder ESCAPE '\\'");
    params.folder = folderPattern(selection.folder);
  }
  return where.join(' AND ');
}

/** SQL condition of a good image: decoded without error and not a duplicate of another. */
export const GOOD_IMAGE = 'error IS NULL AND duplicate_of IS NULL';

/**
 * SQL condition of a usable image: good and not excluded by the user. The one definition of what
 * planning, the channel plan, the split and the dataset's health count as "kept".
 */
export const USABLE_IMAGE = `${GOOD_IMAGE} AND excluded = 0`;
