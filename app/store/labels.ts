/**
 * Labels changed by hand. `images.folder_label` is the label of the image's folder (import writes
 * it); `label_overrides` holds the label set by hand where it differs; `images.label` is the one
 * every reader uses — the override when there is one, else the folder's — kept so by this
 * repository (and by import, which never overwrites an overridden label). Readers need no join,
 * so the grid's label filter and the label counts stay index-backed on 100k-image projects.
 * Every change is one row of `label_changes` (who, when, the new label) with one
 * `label_change_images` row per image it touched (the label before, and whether that was itself
 * an override), so a change can be undone exactly.
 */
import { StudioError, type ImageSelection, type LabelChange } from '../contract';
import type { Db } from './database';
import { GOOD_IMAGE, selectionCondition } from './image-sql';

interface ChangeRow {
  id: number;
  project_id: number;
  label: string | null;
  actor: string;
  created_at: string;
  undone_at: string | null;
}

/** Repository over label overrides and their history. */
export class LabelStore {
  constructor(private readonly db: Db) {}

  /**
   * Sets `label` (null: no label) on the selected good images of a project, as overrides of
   * their folder label; images that already carry it are left alone. Records one change (null
   * when nothing changed) and returns how many images changed.
   */
  set(
    projectId: number,
    selection: ImageSelection,
    label: string | null,
    actor: string,
  ): { changed: number; change: LabelChange | null } {
    const params: Record<string, unknown> = { projectId, label };
    const where =
      `project_id = @projectId AND ${GOOD_IMAGE} ` +
      `AND ${selectionCondition(selection, params)} AND label IS NOT @label`;
    return this.db.transaction(() => {
      const targets = this.db
        .prepare(
          `SELECT id, label AS previous, folder_label AS folder,
                  EXISTS (SELECT 1 FROM label_overrides WHERE label_overrides.image_id = images.id) AS overridden
           FROM images WHERE ${where} ORDER BY id`,
        )
        .all(params) as { id: number; previous: string | null; folder: string | null; overridden: number }[];
      if (targets.length === 0) return { changed: 0, change: null };
      const changeId = Number(
        this.db
          .prepare('INSERT INTO label_changes (project_id, label, actor, created_at) VALUES (?, ?, ?, ?)')
          .run(projectId, label, actor, new Date().toISOString()).lastInsertRowid,
      );
      const remember = this.db.prepare(
        'INSERT INTO label_change_images (change_id, image_id, previous, previous_overridden) VALUES (?, ?, ?, ?)',
      );
      for (const target of targets) {
        remember.run(changeId, target.id, target.previous, target.overridden);
        this.override(target.id, target.folder, label);
      }
      return { changed: targets.length, change: this.change(changeId) };
    })();
  }

  /**
   * Undoes the project's latest change still in force (labels back to what they were before it); null when there is
   * none.
   */
  undo(projectId: number): LabelChange | null {
    return this.db.transaction(() => {
      const latest = this.db
        .prepare('SELECT id FROM label_changes WHERE project_id = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1')
        .get(projectId) as { id: number } | undefined;
      if (!latest) return null;
      const rows = this.db
        .prepare(
          `SELECT c.image_id AS id, c.previous, c.previous_overridden AS overridden
           FROM label_change_images c JOIN images i ON i.id = c.image_id WHERE c.change_id = ?`,
        )
        .all(latest.id) as { id: number; previous: string | null; overridden: number }[];
      const clear = this.db.prepare('DELETE FROM label_overrides WHERE image_id = ?');
      const restore = this.db.prepare(
        'INSERT INTO label_overrides (image_id, label) VALUES (?, ?) ' +
          'ON CONFLICT (image_id) DO UPDATE SET label = excluded.label',
      );
      const relabel = this.db.prepare('UPDATE images SET label = ? WHERE id = ?');
      for (const row of rows) {
        // Changes are undone newest first, so each image is back to exactly its state before this one.
        if (row.overridden) restore.run(row.id, row.previous);
        else clear.run(row.id);
        relabel.run(row.previous, row.id);
      }
      this.db.prepare('UPDATE label_changes SET undone_at = ? WHERE id = ?').run(new Date().toISOString(), latest.id);
      return this.change(latest.id);
    })();
  }

  /** The project's changes, newest first; with `imageId`, only those that touched that image. */
  history(projectId: number, query: { imageId?: number; limit?: number } = {}): LabelChange[] {
    const touching = 'AND id IN (SELECT change_id FROM label_change_images WHERE image_id = @imageId)';
    const ids = this.db
      .prepare(
        `SELECT id FROM label_changes WHERE project_id = @projectId
         ${query.imageId === undefined ? '' : touching}
         ORDER BY id DESC LIMIT @limit`,
      )
      .pluck()
      .all({ projectId, imageId: query.imageId ?? null, limit: query.limit ?? 100 }) as number[];
    return ids.map((id) => this.change(id));
  }

  /** Number of images of a project whose label was set by hand. */
  overrides(projectId: number): number {
    return (
      this.db
        .prepare(
          'SELECT count(*) AS n FROM label_overrides o JOIN images i ON i.id = o.image_id WHERE i.project_id = ?',
        )
        .get(projectId) as { n: number }
    ).n;
  }

  /** How many of `ids` carry a label set by hand. */
  overriddenAmong(ids: readonly number[]): number {
    return (
      this.db
        .prepare('SELECT count(*) AS n FROM label_overrides WHERE image_id IN (SELECT value FROM json_each(?))')
        .get(JSON.stringify(ids)) as { n: number }
    ).n;
  }

  /** Makes `label` the image's label: an override, or none when it equals the folder's. */
  private override(imageId: number, folder: string | null, label: string | null): void {
    if (label === folder) this.db.prepare('DELETE FROM label_overrides WHERE image_id = ?').run(imageId);
    else
      this.db
        .prepare(
          'INSERT INTO label_overrides (image_id, label) VALUES (?, ?) ' +
            'ON CONFLICT (image_id) DO UPDATE SET label = excluded.label',
        )
        .run(imageId, label);
    this.db.prepare('UPDATE images SET label = ? WHERE id = ?').run(label, imageId);
  }

  private change(id: number): LabelChange {
    const row = this.db.prepare('SELECT * FROM label_changes WHERE id = ?').get(id) as ChangeRow | undefined;
    if (!row) throw new StudioError('NOT_FOUND', `no label change with id ${id}`);
    const previous = this.db
      .prepare(
        'SELECT previous AS label, count(*) AS count FROM label_change_images ' +
          'WHERE change_id = ? GROUP BY previous ORDER BY count DESC, previous',
      )
      .all(id) as { label: string | null; count: number }[];
    return {
      id: row.id,
      projectId: row.project_id,
      label: row.label,
      actor: row.actor,
      createdAt: row.created_at,
      undoneAt: row.undone_at,
      images: previous.reduce((sum, entry) => sum + entry.count, 0),
      previous,
    };
  }
}
