/** The `images` table: good images, failed files (with `error`) and duplicates (`duplicate_of`). */
import {
  StudioError,
  type ChannelStats,
  type ImageDetail,
  type ImageMeta,
  type ImagePage,
  type ImportFailure,
  type LabelCount,
  type VolumeMeta,
} from '../contract';
import type { Db } from './database';
import * as counts from './image-counts';
import { ImagePages, type PageQuery } from './image-pages';
import { GOOD_IMAGE, type ImageRow, OVERRIDDEN, toSummary, USABLE_IMAGE, volumeTile } from './image-sql';

/** A row to insert, as the importer produces it. */
export interface NewImage {
  projectId: number;
  path: string;
  sha256: string | null;
  sizeBytes: number | null;
  mtimeMs: number | null;
  width: number | null;
  height: number | null;
  channels: number | null;
  bitDepth: number | null;
  format: string | null;
  label: string | null;
  error: string | null;
  stats: ChannelStats[] | null;
  /** Path of the thumbnail relative to the project folder. */
  thumbnail: string | null;
  duplicateOf: number | null;
  /** Which sample of the file (DICOM frame, OME-TIFF plane); 0 when absent. */
  frame?: number;
  /** Technical metadata (band names, nodata, VOI windows...); null when absent. */
  meta?: ImageMeta | null;
}

/** What the importer needs to know about a path already in the project. */
export interface KnownFile {
  id: number;
  sha256: string | null;
  sizeBytes: number | null;
  mtimeMs: number | null;
  error: string | null;
}

/** A usable image with its stored statistics, as run planning and the channel plan read it. */
export interface UsableImage {
  id: number;
  path: string;
  frame: number;
  label: string | null;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  /** The split stored by curation, if any. */
  split: 'train' | 'val' | 'test' | null;
  stats: ChannelStats[];
  meta: ImageMeta | null;
}

/** One image as readers of its file need it (training, evaluation, hand-off, model card). */
export interface ImageSource {
  id: number;
  path: string;
  /** Content hash at import (null for rows imported without one). */
  sha256: string | null;
  frame: number;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
  format: string | null;
  label: string | null;
  meta: ImageMeta | null;
}

/** Repository over `images`. */
export class ImageStore {
  /** The grid's pages, with their cached totals. */
  private readonly pages: ImagePages;

  constructor(private readonly db: Db) {
    this.pages = new ImagePages(db);
  }

  /** Which of `paths` the project imported (any row: image, failure or duplicate). */
  importedPaths(projectId: number, paths: readonly string[]): Set<string> {
    const find = this.db.prepare('SELECT 1 FROM images WHERE project_id = ? AND path = ? LIMIT 1');
    return new Set(paths.filter((file) => find.get(projectId, file) !== undefined));
  }

  /** Inserts rows in one transaction; returns their ids in order. */
  insertMany(rows: readonly NewImage[]): number[] {
    const insert = this.db.prepare(`
      INSERT INTO images (project_id, path, frame, sha256, size_bytes, mtime_ms, width, height, channels, bit_depth,
                          format, label, folder_label, error, stats, thumbnail, duplicate_of, meta, imported_at)
      VALUES (@projectId, @path, @frame, @sha256, @sizeBytes, @mtimeMs, @width, @height, @channels, @bitDepth,
              @format, @label, @label, @error, @stats, @thumbnail, @duplicateOf, @meta, @importedAt)
      ON CONFLICT (project_id, path, frame) DO UPDATE SET
        sha256 = excluded.sha256, size_bytes = excluded.size_bytes, mtime_ms = excluded.mtime_ms,
        width = excluded.width, height = excluded.height, channels = excluded.channels,
        bit_depth = excluded.bit_depth, format = excluded.format, folder_label = excluded.folder_label,
        label = CASE WHEN ${OVERRIDDEN} THEN images.label ELSE excluded.label END,
        error = excluded.error, stats = excluded.stats, thumbnail = excluded.thumbnail,
        duplicate_of = excluded.duplicate_of, meta = excluded.meta, imported_at = excluded.imported_at
      RETURNING id`);
    // A file re-imported with fewer samples (or now failing) must not keep its old extra frames.
    const dropLaterFrames = this.db.prepare('DELETE FROM images WHERE project_id = ? AND path = ? AND frame >= ?');
    const now = new Date().toISOString();
    return this.db.transaction(() =>
      rows.map((row) => {
        const frame = row.frame ?? 0;
        const params = {
          ...row,
          frame,
          stats: row.stats ? JSON.stringify(row.stats) : null,
          meta: row.meta ? JSON.stringify(row.meta) : null,
          importedAt: now,
        };
        if (frame === 0) dropLaterFrames.run(row.projectId, row.path, row.meta?.frames ?? 1);
        return (insert.get(params) as { id: number }).id;
      }),
    )();
  }

  /** Every path already in the project, with what is needed to tell whether it changed. */
  knownFiles(projectId: number): Map<string, KnownFile> {
    const rows = this.db
      .prepare('SELECT id, path, sha256, size_bytes, mtime_ms, error FROM images WHERE project_id = ? AND frame = 0')
      .all(projectId) as {
      id: number;
      path: string;
      sha256: string | null;
      size_bytes: number | null;
      mtime_ms: number | null;
      error: string | null;
    }[];
    return new Map(
      rows.map((r) => [
        r.path,
        { id: r.id, sha256: r.sha256, sizeBytes: r.size_bytes, mtimeMs: r.mtime_ms, error: r.error },
      ]),
    );
  }

  /** Content hash → id and path of the first good image with that content. */
  hashes(projectId: number): Map<string, { id: number; path: string }> {
    const rows = this.db
      .prepare(
        `SELECT id, path, sha256 FROM images WHERE project_id = ` +
          `? AND frame = 0 AND sha256 IS NOT NULL AND ${GOOD_IMAGE}`,
      )
      .all(projectId) as { id: number; path: string; sha256: string }[];
    return new Map(rows.map((r) => [r.sha256, { id: r.id, path: r.path }]));
  }

  /** One page of the grid (see `image-pages.ts`). */
  list(query: PageQuery): ImagePage {
    return this.pages.list(query);
  }

  /** One image, or NOT_FOUND naming the id. */
  get(id: number): ImageDetail {
    const row = this.db
      .prepare(`SELECT *, label, folder_label, ${OVERRIDDEN} AS overridden FROM images WHERE id = ?`)
      .get(id) as ImageRow | undefined;
    if (!row) throw new StudioError('NOT_FOUND', `no image with id ${id}`, { imageId: id });
    const meta = row.meta ? (JSON.parse(row.meta) as ImageMeta) : null;
    return {
      ...toSummary(row),
      projectId: row.project_id,
      sha256: row.sha256,
      sizeBytes: row.size_bytes,
      split: row.split,
      excluded: row.excluded !== 0,
      stats: row.stats ? (JSON.parse(row.stats) as ChannelStats[]) : null,
      importedAt: row.imported_at,
      frame: row.frame,
      meta,
      ...(meta?.volume && volumeTile(meta.volume)),
      sample: meta?.sample ?? null,
    };
  }

  /** Project folder-relative thumbnail path of an image, or null. */
  thumbnail(id: number): { projectId: number; thumbnail: string | null } | undefined {
    const row = this.db.prepare('SELECT project_id, thumbnail FROM images WHERE id = ?').get(id) as
      | { project_id: number; thumbnail: string | null }
      | undefined;
    return row && { projectId: row.project_id, thumbnail: row.thumbnail };
  }

  /** Good images per label as the grid counts them: a volume once, like its one tile. */
  labels(projectId: number): LabelCount[] {
    return counts.labels(this.db, projectId);
  }

  /** Every sample of one file, in frame order (for readers that crop from the file). */
  samplesOf(projectId: number, path: string): { id: number; frame: number; meta: ImageMeta | null }[] {
    const rows = this.db
      .prepare('SELECT id, frame, meta FROM images WHERE project_id = ? AND path = ? ORDER BY frame')
      .all(projectId, path) as { id: number; frame: number; meta: string | null }[];
    return rows.map((row) => ({
      id: row.id,
      frame: row.frame,
      meta: row.meta ? (JSON.parse(row.meta) as ImageMeta) : null,
    }));
  }

  failures(projectId: number): ImportFailure[] {
    return this.db
      .prepare(
        'SELECT path, error AS reason FROM images WHERE project_id ' +
          '= ? AND error IS NOT NULL AND frame = 0 ORDER BY path',
      )
      .all(projectId) as ImportFailure[];
  }

  /**
   * Usable images of a project that have statistics, in `order`: `path` (then frame, id: what
   * run planning shuffles from) or `id` (import order: what the channel plan reads).
   */
  usable(projectId: number, order: 'path' | 'id'): UsableImage[] {
    const rows = this.db
      .prepare(
        `SELECT id, path, frame, label, width, height, channels, bit_depth AS bitDepth, split, stats, meta FROM images
         WHERE project_id = ? AND ${USABLE_IMAGE} AND stats IS NOT NULL
         ORDER BY ${order === 'path' ? 'path, frame, id' : 'id'}`,
      )
      .all(projectId) as (Omit<UsableImage, 'stats' | 'meta'> & { stats: string; meta: string | null })[];
    return rows.map((row) => ({
      ...row,
      stats: JSON.parse(row.stats) as ChannelStats[],
      meta: row.meta ? (JSON.parse(row.meta) as ImageMeta) : null,
    }));
  }

  /** Usable images of a project counted by channel count and label, in that order. */
  usableCounts(projectId: number): { channels: number; label: string | null; count: number }[] {
    return counts.usableCounts(this.db, projectId);
  }

  /** Volumes (NIfTI volumes, DICOM series) among a project's usable images. */
  volumeCount(projectId: number): number {
    return counts.volumeCount(this.db, projectId);
  }

  /** Whole-slide images among a project's usable images. */
  slideCount(projectId: number): number {
    return counts.slideCount(this.db, projectId);
  }

  /** The band names that one decoded image of `channels` channels declares (the first found), or [] when none does. */
  channelNames(projectId: number, channels: number): NonNullable<ImageMeta['channelNames']> {
    return counts.channelNames(this.db, projectId, channels);
  }

  /** The DICOM modalities (`US`, `CT`, …) of a project's usable images, most images first (none: []). */
  modalities(projectId: number): { modality: string; count: number }[] {
    return counts.modalities(this.db, projectId);
  }

  /**
   * Every good image of a project (decoded, not a duplicate; excluded ones too), in id order,
   * with its content hash and whether it has a thumbnail: what a project's embeddings cover.
   */
  good(projectId: number): (ImageSource & { sha256: string | null; hasThumbnail: boolean })[] {
    const rows = this.db
      .prepare(
        `SELECT id, path, frame, width, height, channels, bit_depth AS bitDepth, format, label, meta, sha256,
           thumbnail IS NOT NULL AS hasThumbnail
         FROM images WHERE project_id = ? AND ${GOOD_IMAGE} ORDER BY id`,
      )
      .all(projectId) as (Omit<ImageSource, 'meta'> & {
      meta: string | null;
      sha256: string | null;
      hasThumbnail: number;
    })[];
    return rows.map((row) => ({
      ...row,
      meta: row.meta ? (JSON.parse(row.meta) as ImageMeta) : null,
      hasThumbnail: row.hasThumbnail !== 0,
    }));
  }

  /** The images of `ids`, in that order; undefined where an id is no longer in the workspace. */
  sources(ids: readonly number[]): (ImageSource | undefined)[] {
    const select = this.db.prepare(
      'SELECT id, path, sha256, frame, width, height, channels, ' +
        'bit_depth AS bitDepth, format, label, meta FROM images WHERE id = ?',
    );
    return ids.map((id) => {
      const row = select.get(id) as (Omit<ImageSource, 'meta'> & { meta: string | null }) | undefined;
      return row && { ...row, meta: row.meta ? (JSON.parse(row.meta) as ImageMeta) : null };
    });
  }

  /** Good DICOM frames that name a series, with their geometry: what series assembly reads. */
  seriesFrames(projectId: number): { id: number; path: string; width: number; height: number; meta: ImageMeta }[] {
    const rows = this.db
      .prepare(
        `SELECT id, path, width, height, meta FROM images WHERE project_id = ? AND ${GOOD_IMAGE}` +
          ` AND json_extract(meta, '$.plane.series') IS NOT NULL ORDER BY path, frame`,
      )
      .all(projectId) as { id: number; path: string; width: number; height: number; meta: string }[];
    return rows.map((row) => ({ ...row, meta: JSON.parse(row.meta) as ImageMeta }));
  }

  /**
   * Stores each frame's place in its volume (`meta.volume`); frames of `ids` not placed (a series
   * now of one frame) lose theirs. One transaction.
   */
  setVolumes(projectId: number, placements: ReadonlyMap<number, VolumeMeta>, ids: readonly number[]): void {
    const place = this.db.prepare(
      "UPDATE images SET meta = json_set(meta, '$.volume', json(?)) WHERE id = ? AND project_id = ?",
    );
    const unplace = this.db.prepare(
      "UPDATE images SET meta = json_remove(meta, '$.volume') WHERE id = " +
        "? AND project_id = ? AND json_extract(meta, '$.volume') IS NOT NULL",
    );
    this.db.transaction(() => {
      for (const id of ids) {
        const placement = placements.get(id);
        if (placement) place.run(JSON.stringify(placement), id, projectId);
        else unplace.run(id, projectId);
      }
    })();
  }

  /** The good slices of volume `key` (`meta.volume.key`) in a project, in slice order: a series as placed. */
  volumeSlices(projectId: number, key: string): ImageSource[] {
    const rows = this.db
      .prepare(
        'SELECT id, path, sha256, frame, width, height, channels, bit_depth AS bitDepth, format, label, meta ' +
          `FROM images WHERE project_id = ? AND ${GOOD_IMAGE} AND json_extract(meta, '$.volume.key') = ? ` +
          "ORDER BY json_extract(meta, '$.volume.slice'), id",
      )
      .all(projectId, key) as (Omit<ImageSource, 'meta'> & { meta: string | null })[];
    return rows.map((row) => ({ ...row, meta: row.meta ? (JSON.parse(row.meta) as ImageMeta) : null }));
  }

  /** The distinct bit depths and formats among `ids`. */
  kinds(ids: readonly number[]): { bitDepth: number; format: string }[] {
    return this.db
      .prepare('SELECT DISTINCT bit_depth AS bitDepth, format FROM images WHERE id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(ids)) as { bitDepth: number; format: string }[];
  }
}
