/** The `runs`, `metrics` and `checkpoints` tables: one training or evaluation job and its record. */
import fs from 'node:fs';
import os from 'node:os';
import { StudioError } from '../contract';
import type { Db } from './database';

export const RUN_KINDS = ['pretrain', 'probe', 'finetune'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const RUN_STATUSES = ['queued', 'running', 'paused', 'completed', 'failed', 'interrupted', 'stopped'] as const;
/** `interrupted`: the process died (killed, crashed); `failed`: the run itself went wrong (e.g. NaN loss). */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A run as stored. `config` is the validated recipe the run was started with. */
export interface RunRecord {
  id: number;
  projectId: number;
  kind: RunKind;
  config: unknown;
  status: RunStatus;
  backend: string | null;
  parentRunId: number | null;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  /** What the run produced, when it records one (probe and fine-tune scores); null otherwise. */
  result: unknown;
}

/** One metric value at one step (`train_loss`, `lr`, `val_loss`, `images_per_second`, …). */
export interface MetricPoint {
  step: number;
  name: string;
  value: number;
  /** Seconds since the epoch. */
  time: number;
}

export interface CheckpointRecord {
  id: number;
  runId: number;
  step: number;
  path: string;
  sha256: string;
  createdAt: string;
}

interface RunRow {
  id: number;
  project_id: number;
  kind: RunKind;
  config: string;
  status: RunStatus;
  backend: string | null;
  parent_run_id: number | null;
  created_at: string;
  finished_at: string | null;
  error: string | null;
  result: string | null;
}

function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    kind: row.kind,
    config: JSON.parse(row.config) as unknown,
    status: row.status,
    backend: row.backend,
    parentRunId: row.parent_run_id,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    error: row.error,
    result: row.result === null || row.result === undefined ? null : (JSON.parse(row.result) as unknown),
  };
}

const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['completed', 'failed', 'interrupted', 'stopped']);

/**
 * Whether a process of this machine is alive (signal 0 checks without sending anything). A
 * killed process whose parent died too stays a zombie until something reaps it — in containers
 * whose first process never does, for good — and signal 0 still reaches it: Linux says so in
 * /proc/<pid>/stat.
 */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false; // gone between the two looks
  }
}

/** Repository over runs and what they record. */
export class RunStore {
  constructor(private readonly db: Db) {}

  create(run: { projectId: number; kind: RunKind; config: unknown; parentRunId?: number | null }): RunRecord {
    const info = this.db
      .prepare(
        'INSERT INTO runs (project_id, kind, config, status, parent_run_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        run.projectId,
        run.kind,
        JSON.stringify(run.config),
        'queued',
        run.parentRunId ?? null,
        new Date().toISOString(),
      );
    return this.get(Number(info.lastInsertRowid));
  }

  /** The run, or NOT_FOUND naming the id. */
  get(id: number): RunRecord {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw new StudioError('NOT_FOUND', `no run with id ${id}`, { runId: id });
    return toRun(row);
  }

  /**
   * NOT_FOUND naming the id unless the run exists. Cheaper than `get`, which parses the run's
   * config — a pretraining plan lists every image id of both splits (~600 KB at 100k images).
   */
  require(id: number): void {
    if (!this.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id))
      throw new StudioError('NOT_FOUND', `no run with id ${id}`, { runId: id });
  }

  list(projectId: number): RunRecord[] {
    return (this.db.prepare('SELECT * FROM runs WHERE project_id = ? ORDER BY id DESC').all(projectId) as RunRow[]).map(
      toRun,
    );
  }

  /**
   * Records a status change; final statuses stamp `finished_at`, others clear it. `running` is
   * set by the training process itself, which records its host and pid (see {@link reapOrphans}).
   */
  setStatus(id: number, status: RunStatus, extra: { backend?: string; error?: string | null } = {}): RunRecord {
    this.require(id);
    this.db
      .prepare(
        `UPDATE runs SET status = @status, backend = coalesce(@backend, backend), error = @error,
                         finished_at = @finishedAt, worker_host = @host, worker_pid = @pid WHERE id = @id`,
      )
      .run({
        id,
        status,
        backend: extra.backend ?? null,
        error: extra.error ?? null,
        finishedAt: FINAL_STATUSES.has(status) ? new Date().toISOString() : null,
        host: status === 'running' ? os.hostname() : null,
        pid: status === 'running' ? process.pid : null,
      });
    return this.get(id);
  }

  /**
   * Marks `interrupted` the runs left `running` by a training process of this machine that no
   * longer exists — the app and its training process killed together, or a power cut — so the
   * user can resume them. Runs trained on another machine (a shared workspace) are left alone.
   * Returns the ids marked.
   */
  reapOrphans(isAlive: (pid: number) => boolean = processAlive): number[] {
    const rows = this.db
      .prepare(
        'SELECT id, worker_pid AS pid FROM runs WHERE status = ' +
          "'running' AND worker_host = ? AND worker_pid IS NOT NULL",
      )
      .all(os.hostname()) as {
      id: number;
      pid: number;
    }[];
    const dead = rows.filter((row) => !isAlive(row.pid));
    for (const row of dead) {
      this.setStatus(row.id, 'interrupted', {
        error:
          `its training process (pid ${row.pid}) ended without ` +
          `a word: resume it to continue from its last checkpoint`,
      });
    }
    return dead.map((row) => row.id);
  }

  /** Stores what a run produced (JSON); replaces an earlier result. */
  setResult(id: number, result: unknown): RunRecord {
    this.require(id);
    this.db.prepare('UPDATE runs SET result = ? WHERE id = ?').run(JSON.stringify(result), id);
    return this.get(id);
  }

  /** Writes many points in one transaction; a point at an existing (run, name, step) replaces it. */
  appendMetrics(runId: number, points: readonly MetricPoint[]): void {
    if (points.length === 0) return;
    const insert = this.db.prepare(
      'INSERT OR REPLACE INTO metrics (run_id, step, name, value, time) VALUES (?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const point of points) insert.run(runId, point.step, point.name, point.value, point.time);
    })();
  }

  /** Drops points after a step: a resumed run rewrites what came after its checkpoint. */
  truncateMetrics(runId: number, afterStep: number): void {
    this.db.prepare('DELETE FROM metrics WHERE run_id = ? AND step > ?').run(runId, afterStep);
  }

  metrics(runId: number, name?: string): MetricPoint[] {
    const sql =
      name === undefined
        ? 'SELECT step, name, value, time FROM metrics WHERE run_id = ? ORDER BY name, step'
        : 'SELECT step, name, value, time FROM metrics WHERE run_id = ? AND name = ? ORDER BY step';
    return (
      name === undefined ? this.db.prepare(sql).all(runId) : this.db.prepare(sql).all(runId, name)
    ) as MetricPoint[];
  }

  /** One metric of a run as two parallel arrays, in step order (no object per point: long runs have 200k+). */
  series(runId: number, name: string): { steps: number[]; values: number[] } {
    const rows = this.db
      .prepare('SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step')
      .raw()
      .all(runId, name) as [number, number][];
    const steps = new Array<number>(rows.length);
    const values = new Array<number>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      steps[i] = rows[i]![0];
      values[i] = rows[i]![1];
    }
    return { steps, values };
  }

  addCheckpoint(runId: number, step: number, path: string, sha256: string): CheckpointRecord {
    const info = this.db
      .prepare('INSERT INTO checkpoints (run_id, step, path, sha256, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(runId, step, path, sha256, new Date().toISOString());
    return this.db
      .prepare('SELECT id, run_id AS runId, step, path, sha256, created_at AS createdAt FROM checkpoints WHERE id = ?')
      .get(Number(info.lastInsertRowid)) as CheckpointRecord;
  }

  checkpoints(runId: number): CheckpointRecord[] {
    return this.db
      .prepare(
        'SELECT id, run_id AS runId, step, path, sha256, created_at ' +
          'AS createdAt FROM checkpoints WHERE run_id = ? ORDER BY step',
      )
      .all(runId) as CheckpointRecord[];
  }

  /** Forgets one checkpoint (its file is the caller's to delete, after this). */
  removeCheckpoint(id: number): void {
    this.db.prepare('DELETE FROM checkpoints WHERE id = ?').run(id);
  }

  latestCheckpoint(runId: number): CheckpointRecord | undefined {
    return this.checkpoints(runId).at(-1);
  }

  /**
   * What the history shows of each run beyond its row: the last train and validation loss, the
   * last step, and the seconds spent training (gaps over two minutes between steps, i.e. pauses
   * and restarts, are not counted).
   */
  outcomes(runIds: readonly number[]): Map<number, RunOutcome> {
    const query = this.db.prepare(`
      SELECT
        (SELECT value FROM metrics WHERE run_id = @id AND name = 'train_loss' ORDER BY step DESC LIMIT 1) AS trainLoss,
        (SELECT value FROM metrics WHERE run_id = @id AND name = 'val_loss' ORDER BY step DESC LIMIT 1) AS valLoss,
        (SELECT max(step) FROM metrics WHERE run_id = @id AND name = 'train_loss') AS step,
        (SELECT coalesce(sum(gap), 0) FROM (
           SELECT time - lag(time) OVER (ORDER BY step) AS gap FROM metrics WHERE run_id = @id AND name = 'train_loss'
         ) WHERE gap BETWEEN 0 AND 120) AS seconds,
        (SELECT max(step) FROM checkpoints WHERE run_id = @id) AS checkpointStep,
        (SELECT avg(value) FROM metrics WHERE run_id = @id AND name = 'data_wait_share') AS dataWaitShare,
        (SELECT count(*) FROM runs o JOIN runs r ON r.id = @id
           WHERE o.project_id = r.project_id AND o.kind = r.kind AND o.id <= r.id) AS number`);
    const result = new Map<number, RunOutcome>();
    for (const id of runIds) {
      const row = query.get({ id }) as {
        trainLoss: number | null;
        valLoss: number | null;
        step: number | null;
        seconds: number;
        checkpointStep: number | null;
        dataWaitShare: number | null;
        number: number;
      };
      result.set(id, {
        number: row.number,
        finalTrainLoss: row.trainLoss,
        finalValLoss: row.valLoss,
        step: row.step ?? 0,
        trainingSeconds: row.seconds,
        checkpointStep: row.checkpointStep,
        dataWaitShare: row.dataWaitShare,
      });
    }
    return result;
  }

  /** Each run's place among its project's runs of the same kind, from 1 (what "Pretrain #3" names). */
  numbers(projectId: number): Map<number, number> {
    const rows = this.db
      .prepare('SELECT id, row_number() OVER (PARTITION BY kind ORDER BY id) AS number FROM runs WHERE project_id = ?')
      .all(projectId) as { id: number; number: number }[];
    return new Map(rows.map((row) => [row.id, row.number]));
  }

  /** Deletes a run and, by cascade, its metrics, checkpoint rows and exports (files are the caller's). */
  remove(id: number): void {
    this.require(id);
    this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
  }
}

/** A run's results so far, for the history. */
export interface RunOutcome {
  /** Its place among the project's runs of its kind, from 1 ("Pretrain #3"); ids stay the API's names. */
  number: number;
  finalTrainLoss: number | null;
  finalValLoss: number | null;
  step: number;
  trainingSeconds: number;
  checkpointStep: number | null;
  /** Mean share of training time spent waiting for data (pretraining; null before it was recorded). */
  dataWaitShare: number | null;
}
