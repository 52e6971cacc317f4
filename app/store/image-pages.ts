/**
 * The grid's pages of a project's images: a filter (status, label, split, folder, search, …), one
 * page of it in the chosen order, and its total, kept until the database changes.
 */
import type { ImagePage, ImageQuery } from '../contract';
import type { Db } from './database';
import { GRID_TILE, type ImageRow, SORTS, SUMMARY_COLUMNS, toSummary, folderPattern } from './image-sql';

/** The grid's filter, with the fields `images.list` fills in by default. */
export type PageQuery = Required<Pick<ImageQuery, 'projectId' | 'offset' | 'limit' | 'sort' | 'status'>> & ImageQuery;

/** Pages of the grid over `images`, with the totals of the filters asked for lately. */
export class ImagePages {
  constructor(private readonly db: Db) {}

  /** One page of the images matching `query` (a volume as its one tile), and how many match. */
  list(query: PageQuery): ImagePage {
    const where = ['project_id = @projectId', 'duplicate_of IS NULL', GRID_TILE];
    if (query.status === 'ok') where.push('error IS NULL');
    if (query.status === 'failed') where.push('error IS NOT NULL');
    if (query.label !== undefined) where.push(query.label === null ? 'label IS NULL' : 'label = @label');
    if (query.search) where.push("path LIKE @search ESCAPE '\\'");
    if (query.split === 'none') where.push('split IS NULL');
    else if (query.split) where.push('split = @split');
    if (query.excluded !== undefined) where.push(query.excluded ? 'excluded = 1' : 'excluded = 0');
    if (query.folder) where.push("path LIKE @folder ESCAPE '\\'");
    if (query.channels !== undefined) where.push('channels = @channels');
    if (query.format) where.push('format = @format');
    const params = {
      projectId: query.projectId,
      split: query.split ?? null,
      folder: query.folder ? folderPattern(query.folder) : null,
      channels: query.channels ?? null,
      format: query.format ?? null,
      label: query.label ?? null,
      search: query.search ? `%${query.search.replace(/[\\%_]/g, (c) => '\\' + c)}%` : null,
      limit: query.limit,
      offset: query.offset,
    };
    const clause = where.join(' AND ');
    const total = this.count(clause, params);
    // Two phases: order and page over the small index-backed columns only, then read the page's
    // rows; sorting whole rows (with their stats) of a 100k-image project costs 10x more.
    const ids = this.db
      .prepare(`SELECT id FROM images WHERE ${clause} ORDER BY ${SORTS[query.sort]}, frame LIMIT @limit OFFSET @offset`)
      .pluck()
      .all(params) as number[];
    const byId = new Map(
      (
        this.db
          .prepare(`SELECT ${SUMMARY_COLUMNS} FROM images WHERE id IN (SELECT value FROM json_each(?))`)
          .all(JSON.stringify(ids)) as ImageRow[]
      ).map((row) => [row.id, row]),
    );
    return { total, offset: query.offset, images: ids.map((id) => toSummary(byId.get(id)!)) };
  }

  /**
   * Images matching a filter. Scrolling asks for the same filter page after page, and counting a
   * 100k-image project costs more than the page itself, so the count is kept until the database
   * changes: `data_version` moves when another connection commits, `total_changes()` when this one writes.
   */
  private count(clause: string, params: Record<string, unknown>): number {
    const { offset: _offset, limit: _limit, ...filter } = params;
    const key = `${clause}\u0000${JSON.stringify(filter)}`;
    const changes = (this.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const version = `${this.db.pragma('data_version', { simple: true })}:${changes}`;
    const cached = this.counts.get(key);
    if (cached && cached.version === version) return cached.n;
    const n = (this.db.prepare(`SELECT count(*) AS n FROM images WHERE ${clause}`).get(params) as { n: number }).n;
    if (this.counts.size > 64) this.counts.clear();
    this.counts.set(key, { version, n });
    return n;
  }

  private readonly counts = new Map<string, { version: string; n: number }>();
}
