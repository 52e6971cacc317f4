/** The `projects` table. */
import { StudioError, type Domain, type Project, type ProjectRemoval } from '../contract';
import type { Db } from './database';
import { GOOD_IMAGE } from './image-sql';

interface ProjectRow {
  id: number;
  name: string;
  domain: Domain;
  created_at: string;
  image_count: number;
  failed_count: number;
  same_name: number;
}

const SELECT = `
  SELECT p.id, p.name, p.domain, p.created_at,
         -- the columns are the image's: projects has neither
         (SELECT count(*) FROM images i WHERE i.project_id = p.id AND ${GOOD_IMAGE}) AS image_count,
         (SELECT count(*) FROM images i WHERE i.project_id = p.id AND i.error IS NOT NULL AND i.duplicate_of IS NULL)
           AS failed_count,
         (SELECT count(*) FROM projects o WHERE o.id <> p.id AND lower(trim(o.name)) = lower(trim(p.name))) AS same_name
  FROM projects p`;

function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    name: row.name,
    domain: row.domain,
    createdAt: row.created_at,
    imageCount: row.image_count,
    failedCount: row.failed_count,
    duplicateName: row.same_name > 0,
  };
}

/** Repository over `projects`. */
export class ProjectStore {
  constructor(private readonly db: Db) {}

  list(): Project[] {
    return (this.db.prepare(`${SELECT} ORDER BY p.created_at DESC, p.id DESC`).all() as ProjectRow[]).map(toProject);
  }

  /** The project, or a NOT_FOUND error naming the id. */
  get(id: number): Project {
    const row = this.db.prepare(`${SELECT} WHERE p.id = ?`).get(id) as ProjectRow | undefined;
    if (!row) throw new StudioError('NOT_FOUND', `no project with id ${id}`, { projectId: id });
    return toProject(row);
  }

  /** Throws NOT_FOUND naming the id unless the project exists (cheap: no image counts). */
  require(id: number): void {
    if (this.db.prepare('SELECT 1 FROM projects WHERE id = ?').get(id) === undefined) {
      throw new StudioError('NOT_FOUND', `no project with id ${id}`, { projectId: id });
    }
  }

  create(name: string, domain: Domain): Project {
    const info = this.db
      .prepare('INSERT INTO projects (name, domain, created_at) VALUES (?, ?, ?)')
      .run(name, domain, new Date().toISOString());
    return this.get(Number(info.lastInsertRowid));
  }

  rename(id: number, name: string): Project {
    this.require(id);
    this.db.prepare('UPDATE projects SET name = ? WHERE id = ?').run(name, id);
    return this.get(id);
  }

  /** The project's settings (a JSON object; `{}` until something is stored). */
  settings(id: number): Record<string, unknown> {
    const row = this.db.prepare('SELECT settings FROM projects WHERE id = ?').get(id) as
      | { settings: string }
      | undefined;
    if (!row) throw new StudioError('NOT_FOUND', `no project with id ${id}`, { projectId: id });
    return JSON.parse(row.settings) as Record<string, unknown>;
  }

  /** Sets one setting of a project, keeping the others. */
  setSetting(id: number, key: string, value: unknown): void {
    const settings = { ...this.settings(id), [key]: value };
    this.db.prepare('UPDATE projects SET settings = ? WHERE id = ?').run(JSON.stringify(settings), id);
  }

  /** Another project with this name (trimmed, case-insensitive), or null. */
  withName(name: string, exceptId?: number): Project | null {
    const row = this.db
      .prepare(`${SELECT} WHERE lower(trim(p.name)) = lower(trim(?)) AND p.id <> ? ORDER BY p.id LIMIT 1`)
      .get(name, exceptId ?? 0) as ProjectRow | undefined;
    return row ? toProject(row) : null;
  }

  /** What deleting a project removes: its rows, and whether a run of it is training now. */
  removal(id: number): ProjectRemoval {
    this.require(id);
    const count = (sql: string) => (this.db.prepare(sql).get(id) as { n: number }).n;
    return {
      projectId: id,
      images: count('SELECT count(*) AS n FROM images WHERE project_id = ?'),
      runs: count('SELECT count(*) AS n FROM runs WHERE project_id = ?'),
      checkpoints: count(
        'SELECT count(*) AS n FROM checkpoints c JOIN runs r ON r.id = c.run_id WHERE r.project_id = ?',
      ),
      exports: count('SELECT count(*) AS n FROM exports e JOIN runs r ON r.id = e.run_id WHERE r.project_id = ?'),
      training: this.db
        .prepare("SELECT id FROM runs WHERE project_id = ? AND status = 'running' ORDER BY id")
        .pluck()
        .all(id) as number[],
      bytes: 0,
    };
  }

  /**
   * Deletes the project's row and, by cascade, its images, runs, metrics, checkpoint and export
   * rows and channel plan, in one transaction. Refused (CONFLICT) while one of its runs trains.
   */
  remove(id: number): void {
    this.db
      .transaction(() => {
        const { training } = this.removal(id);
        if (training.length > 0) {
          throw new StudioError(
            'CONFLICT',
            `project ${id} cannot be deleted while run ${training.join(', ')} is training: stop or pause it first`,
            { projectId: id, runs: training },
          );
        }
        this.db.prepare('DELETE FROM projects WHERE id = ?').run(id);
      })
      .immediate();
  }
}
