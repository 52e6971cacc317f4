/**
 * Curation of a project's images: the dataset's health in numbers, leaving images or folders
 * out of training, labels, and the stored train/val split.
 */
import path from 'node:path';
import type { Bucket, ChannelStats, DatasetHealth, ImageSelection, ImportDuplicate } from '../contract';
import type { Db } from './database';
import { GOOD_IMAGE, selectionCondition, USABLE_IMAGE } from './image-sql';

/** Good, non-duplicate images of a project. */
const GOOD = `project_id = @projectId AND ${GOOD_IMAGE}`;
/** Usable images of a project (@projectId). */
const USABLE = `project_id = @projectId AND ${USABLE_IMAGE}`;
/** Usable images whose channel count the channel plan does not leave out (@leftOut: JSON list). */
const USED = `${USABLE} AND channels NOT IN (SELECT value FROM json_each(@leftOut))`;

const SIZE_BUCKETS: [number, string][] = [
  [0.07, '< 0.07 MP (256²)'],
  [0.26, '0.07–0.26 MP (512²)'],
  [1.05, '0.26–1 MP (1024²)'],
  [16.8, '1–16 MP'],
  [268, '16–268 MP'],
  [Infinity, '> 268 MP (huge)'],
];

/** Repository of curation queries over `images`. */
export class CurationStore {
  constructor(private readonly db: Db) {}

  /** What the embedding map colours good images by, beyond their label and format: split, exclusion, channel stats. */
  mapAttributes(
    projectId: number,
  ): Map<number, { split: string | null; excluded: boolean; stats: ChannelStats[] | null }> {
    const rows = this.db.prepare(`SELECT id, split, excluded, stats FROM images WHERE ${GOOD}`).all({ projectId }) as {
      id: number;
      split: string | null;
      excluded: number;
      stats: string | null;
    }[];
    return new Map(
      rows.map((row) => [
        row.id,
        {
          split: row.split,
          excluded: row.excluded !== 0,
          stats: row.stats ? (JSON.parse(row.stats) as ChannelStats[]) : null,
        },
      ]),
    );
  }

  /**
   * The dataset's health; `leftOut` are the channel counts the channel plan leaves out, so the
   * split and label balance count only what the next run uses.
   */
  health(projectId: number, leftOut: readonly number[] = []): DatasetHealth {
    const params = { projectId, leftOut: JSON.stringify(leftOut) };
    const count = (where: string) =>
      (this.db.prepare(`SELECT count(*) AS n FROM images WHERE ${where}`).get(params) as { n: number }).n;
    const buckets = (expression: string) =>
      (
        this.db
          .prepare(
            `SELECT ${expression} AS key, count(*) AS count FROM images WHERE ${GOOD} GROUP BY 1 ORDER BY 2 DESC`,
          )
          .all(params) as { key: unknown; count: number }[]
      ).map((row) => ({ key: row.key === null ? 'unknown' : String(row.key), count: row.count }));
    const sizes: Bucket[] = SIZE_BUCKETS.map(([, key]) => ({ key, count: 0 }));
    for (const row of this.db.prepare(`SELECT width * height / 1e6 AS mp FROM images WHERE ${GOOD}`).all(params) as {
      mp: number | null;
    }[]) {
      sizes[SIZE_BUCKETS.findIndex(([limit]) => (row.mp ?? 0) < limit)]!.count++;
    }
    const folders = new Map<string, { count: number; excluded: number }>();
    for (const row of this.db.prepare(`SELECT path, excluded FROM images WHERE ${GOOD}`).all(params) as {
      path: string;
      excluded: number;
    }[]) {
      const folder = path.dirname(row.path);
      const entry = folders.get(folder) ?? { count: 0, excluded: 0 };
      entry.count++;
      entry.excluded += row.excluded;
      folders.set(folder, entry);
    }
    const labels = this.db
      .prepare(
        `SELECT label, sum(used) AS count, coalesce(sum(used AND split = 'train'), 0) AS train,
                coalesce(sum(used AND split = 'val'), 0) AS val, sum(NOT used) AS leftOut
         FROM (SELECT label, split, channels NOT IN (SELECT value FROM json_each(@leftOut)) AS used
               FROM images WHERE ${USABLE})
         GROUP BY label ORDER BY count DESC, leftOut DESC`,
      )
      .all(params) as DatasetHealth['labels'];
    return {
      images: count(GOOD),
      files: count(`${GOOD} AND frame = 0`),
      failed: count('project_id = @projectId AND error IS NOT NULL'),
      duplicates: count('project_id = @projectId AND duplicate_of IS NOT NULL'),
      excluded: count(`${GOOD} AND excluded = 1`),
      leftOutByPlan: count(USABLE) - count(USED),
      excludedClasses: labels
        .filter((row) => row.label !== null && row.label !== '' && row.count === 0)
        .map((row) => row.label!)
        .sort(),
      split: {
        train: count(`${USED} AND split = 'train'`),
        val: count(`${USED} AND split = 'val'`),
        unassigned: count(`${USED} AND split IS NULL`),
      },
      formats: buckets('format'),
      bitDepths: buckets('bit_depth'),
      channels: buckets('channels'),
      sizes: sizes.filter((bucket) => bucket.count > 0),
      labels,
      relabelled: count(`${GOOD} AND id IN (SELECT image_id FROM label_overrides)`),
      folders: [...folders]
        .map(([folder, entry]) => ({ folder, ...entry }))
        .sort((a, b) => a.folder.localeCompare(b.folder)),
      duplicateFiles: this.db
        .prepare(
          `SELECT d.path AS path, o.path AS duplicateOf FROM images d JOIN images o ON o.id = d.duplicate_of
           WHERE d.project_id = @projectId ORDER BY d.path LIMIT 500`,
        )
        .all(params) as ImportDuplicate[],
      failures: this.db
        .prepare(
          'SELECT path, error AS reason FROM images WHERE project_id = ' +
            '@projectId AND error IS NOT NULL AND frame = 0 ORDER BY path LIMIT 500',
        )
        .all(params) as DatasetHealth['failures'],
    };
  }

  /** Leaves the selected good images out of training (or takes them back); returns how many changed. */
  setExcluded(projectId: number, selection: ImageSelection, excluded: boolean): number {
    const params: Record<string, unknown> = { projectId, value: excluded ? 1 : 0 };
    return this.db
      .prepare(`UPDATE images SET excluded = @value WHERE ${GOOD} AND ${selectionCondition(selection, params)}`)
      .run(params).changes;
  }

  /** Kept images with their labels, for the split; `leftOut`: channel counts the channel plan leaves out. */
  keptImages(
    projectId: number,
    leftOut: readonly number[] = [],
  ): { id: number; label: string | null; group: string | null }[] {
    // The split group of a volume's slice (ImageMeta.volume: its subject, else its volume).
    const group = "coalesce(json_extract(meta, '$.volume.group'), json_extract(meta, '$.volume.key'))";
    return this.db
      .prepare(`SELECT id, label, ${group} AS "group" FROM images WHERE ${USED} ORDER BY id`)
      .all({ projectId, leftOut: JSON.stringify(leftOut) }) as {
      id: number;
      label: string | null;
      group: string | null;
    }[];
  }

  /** Stores a split: the given ids become train or val, every other image none. */
  saveSplit(projectId: number, train: readonly number[], val: readonly number[]): void {
    const set = this.db.prepare('UPDATE images SET split = ? WHERE id = ?');
    this.db.transaction(() => {
      this.db.prepare('UPDATE images SET split = NULL WHERE project_id = ?').run(projectId);
      for (const id of train) set.run('train', id);
      for (const id of val) set.run('val', id);
    })();
  }
}
