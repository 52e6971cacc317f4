/**
 * The schema, as an ordered list of migrations. `PRAGMA user_version` records how many have run.
 * Never edit a released migration: add the next one.
 */

/** One step of the schema's history. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'projects, images, runs, metrics, checkpoints, exports',
    sql: `
      CREATE TABLE projects (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        domain     TEXT NOT NULL,
        settings   TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
      );
      CREATE TABLE images (
        id          INTEGER PRIMARY KEY,
        project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        path        TEXT NOT NULL,
        sha256      TEXT,
        width       INTEGER,
        height      INTEGER,
        channels    INTEGER,
        bit_depth   INTEGER,
        format      TEXT,
        label       TEXT,
        split       TEXT CHECK (split IN ('train', 'val', 'test')),
        excluded    INTEGER NOT NULL DEFAULT 0,
        error       TEXT,
        stats       TEXT,
        imported_at TEXT NOT NULL,
        UNIQUE (project_id, path)
      );
      CREATE INDEX images_by_hash ON images (project_id, sha256);
      CREATE TABLE runs (
        id            INTEGER PRIMARY KEY,
        project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        kind          TEXT NOT NULL CHECK (kind IN ('pretrain', 'probe', 'finetune')),
        config        TEXT NOT NULL,
        status        TEXT NOT NULL,
        backend       TEXT,
        parent_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        created_at    TEXT NOT NULL,
        finished_at   TEXT,
        error         TEXT
      );
      CREATE TABLE metrics (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step   INTEGER NOT NULL,
        name   TEXT NOT NULL,
        value  REAL NOT NULL,
        time   REAL NOT NULL,
        PRIMARY KEY (run_id, name, step)
      ) WITHOUT ROWID;
      CREATE TABLE checkpoints (
        id         INTEGER PRIMARY KEY,
        run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step       INTEGER NOT NULL,
        path       TEXT NOT NULL,
        sha256     TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE exports (
        id         INTEGER PRIMARY KEY,
        run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        format     TEXT NOT NULL,
        path       TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'file identity for fast re-import, duplicates, thumbnails, label index',
    sql: `
      ALTER TABLE images ADD COLUMN size_bytes INTEGER;
      ALTER TABLE images ADD COLUMN mtime_ms INTEGER;
      ALTER TABLE images ADD COLUMN duplicate_of INTEGER REFERENCES images(id) ON DELETE SET NULL;
      ALTER TABLE images ADD COLUMN thumbnail TEXT;
      CREATE INDEX images_by_label ON images (project_id, label);
    `,
  },
  {
    version: 3,
    description: 'several samples per file (frame), technical metadata (meta JSON)',
    // SQLite cannot change a UNIQUE constraint in place: the table is rebuilt. The new table's
    // self-reference names images_new, which the rename rewrites to images; dropping the old
    // table then cascades nowhere, so every row and every duplicate_of link survives.
    sql: `
      CREATE TABLE images_new (
        id           INTEGER PRIMARY KEY,
        project_id   INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        path         TEXT NOT NULL,
        frame        INTEGER NOT NULL DEFAULT 0,
        sha256       TEXT,
        width        INTEGER,
        height       INTEGER,
        channels     INTEGER,
        bit_depth    INTEGER,
        format       TEXT,
        label        TEXT,
        split        TEXT CHECK (split IN ('train', 'val', 'test')),
        excluded     INTEGER NOT NULL DEFAULT 0,
        error        TEXT,
        stats        TEXT,
        imported_at  TEXT NOT NULL,
        size_bytes   INTEGER,
        mtime_ms     INTEGER,
        duplicate_of INTEGER REFERENCES images_new(id) ON DELETE SET NULL,
        thumbnail    TEXT,
        meta         TEXT,
        UNIQUE (project_id, path, frame)
      );
      INSERT INTO images_new (id, project_id, path, frame, sha256, width, height, channels, bit_depth, format,
                              label, split, excluded, error, stats, imported_at, size_bytes, mtime_ms,
                              duplicate_of, thumbnail, meta)
        SELECT id, project_id, path, 0, sha256, width, height, channels, bit_depth, format,
               label, split, excluded, error, stats, imported_at, size_bytes, mtime_ms,
               duplicate_of, thumbnail, NULL
        FROM images;
      DROP TABLE images;
      ALTER TABLE images_new RENAME TO images;
      CREATE INDEX images_by_hash ON images (project_id, sha256);
      CREATE INDEX images_by_label ON images (project_id, label);
    `,
  },
  {
    version: 4,
    description: 'outcome of a run (probe scores, fine-tune scores) as JSON',
    sql: `
      ALTER TABLE runs ADD COLUMN result TEXT;
    `,
  },
  {
    version: 5,
    description: 'per-project channel plan and dataset channel statistics',
    sql: `
      CREATE TABLE channel_plans (
        project_id INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
        plan       TEXT,
        stats      TEXT,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 6,
    description: 'indexes for large projects: the image grid (paged in path order, counted) and duplicate links',
    sql: `
      CREATE INDEX images_grid ON images (project_id, path, frame, error, label, split, excluded)
        WHERE duplicate_of IS NULL;
      CREATE INDEX images_by_duplicate ON images (duplicate_of) WHERE duplicate_of IS NOT NULL;
    `,
  },
  {
    version: 7,
    description: 'which process trains a running run (host and pid), so a run whose process died unseen is found',
    sql: `
      ALTER TABLE runs ADD COLUMN worker_host TEXT;
      ALTER TABLE runs ADD COLUMN worker_pid INTEGER;
    `,
  },
  {
    version: 8,
    description:
      'labels changed by hand: overrides of the folder label, and their history (who, when, old, new) for undo',
    sql: `
      ALTER TABLE images ADD COLUMN folder_label TEXT;
      UPDATE images SET folder_label = label;
      CREATE TABLE label_changes (
        id         INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        label      TEXT,
        actor      TEXT NOT NULL,
        created_at TEXT NOT NULL,
        undone_at  TEXT
      );
      CREATE INDEX label_changes_by_project ON label_changes (project_id, id);
      CREATE TABLE label_change_images (
        change_id           INTEGER NOT NULL REFERENCES label_changes(id) ON DELETE CASCADE,
        image_id            INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        previous            TEXT,
        previous_overridden INTEGER NOT NULL,
        PRIMARY KEY (change_id, image_id)
      );
      CREATE INDEX label_change_images_by_image ON label_change_images (image_id);
      CREATE TABLE label_overrides (
        image_id  INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        label     TEXT
      );
    `,
  },
  {
    version: 9,
    description:
      'the grid of a project with volumes: one tile per volume ' +
      '(its middle slice), paged in path order without reading every slice',
    // The condition is images.ts GRID_TILE, word for word: SQLite uses a partial index only
    // when the query holds its WHERE terms as written (48k slices: a page in 2-9 ms, not 200-400).
    sql: `
      CREATE INDEX images_grid_tiles ON images (project_id, path, frame)
        WHERE duplicate_of IS NULL AND (json_extract(meta, '$.volume.key') IS NULL
          OR json_extract(meta, '$.volume.slice') = json_extract(meta, '$.volume.slices') / 2);
    `,
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
