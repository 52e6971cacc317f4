/**
 * What a project's images add up to, for the channel plan, run planning and Curate: good images
 * per label, usable ones per channel count and label, volumes, slides, declared band names and
 * DICOM modalities. Read through `ImageStore`.
 */
import type { ImageMeta, LabelCount } from '../contract';
import type { Db } from './database';
import { GOOD_IMAGE, GRID_TILE, USABLE_IMAGE } from './image-sql';

/** Good images per label as the grid counts them: a volume once, like its one tile. */
export function labels(db: Db, projectId: number): LabelCount[] {
  return db
    .prepare(
      `SELECT label, count(*) AS count FROM images
       WHERE project_id = ? AND ${GOOD_IMAGE} AND ${GRID_TILE} GROUP BY label ORDER BY label`,
    )
    .all(projectId) as LabelCount[];
}

/** Usable images of a project counted by channel count and label, in that order. */
export function usableCounts(db: Db, projectId: number): { channels: number; label: string | null; count: number }[] {
  return db
    .prepare(
      `SELECT channels, label, count(*) AS count FROM images WHERE project_id ` +
        `= ? AND ${USABLE_IMAGE} GROUP BY channels, label ORDER BY channels, label`,
    )
    .all(projectId) as { channels: number; label: string | null; count: number }[];
}

/** Volumes (NIfTI volumes, DICOM series) among a project's usable images. */
export function volumeCount(db: Db, projectId: number): number {
  const row = db
    .prepare(`SELECT count(DISTINCT json_extract(meta, '$.volume.key')) AS count FROM images
       WHERE project_id = ? AND ${USABLE_IMAGE} AND json_extract(meta, '$.volume.key') IS NOT NULL`)
    .get(projectId) as { count: number };
  return row.count;
}

/** Whole-slide images among a project's usable images. */
export function slideCount(db: Db, projectId: number): number {
  const row = db
    .prepare(`SELECT count(*) AS count FROM images
       WHERE project_id = ? AND ${USABLE_IMAGE} AND json_extract(meta, '$.slide') IS NOT NULL`)
    .get(projectId) as { count: number };
  return row.count;
}

/** The band names that one decoded image of `channels` channels declares (the first found), or [] when none does. */
export function channelNames(db: Db, projectId: number, channels: number): NonNullable<ImageMeta['channelNames']> {
  const row = db
    .prepare(
      `SELECT meta FROM images WHERE project_id = ? AND channels ` +
        `= ? AND error IS NULL AND meta LIKE '%channelNames%' LIMIT 1`,
    )
    .get(projectId, channels) as { meta: string } | undefined;
  return row ? ((JSON.parse(row.meta) as ImageMeta).channelNames ?? []) : [];
}

/** The DICOM modalities (`US`, `CT`, …) of a project's usable images, most images first (none: []). */
export function modalities(db: Db, projectId: number): { modality: string; count: number }[] {
  return db
    .prepare(
      `SELECT json_extract(meta, '$.modality') AS modality, count(*) AS count FROM images
       WHERE project_id = ? AND ${USABLE_IMAGE} AND json_extract(meta, '$.modality') IS NOT NULL
       GROUP BY modality ORDER BY count DESC`,
    )
    .all(projectId) as { modality: string; count: number }[];
}
