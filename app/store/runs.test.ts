import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from './database';
import { ProjectStore } from './projects';
import { RunStore } from './runs';

let dir: string;
let db: Db;
let runs: RunStore;
let projectId: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-runs-'));
  db = openDatabase(dir);
  runs = new RunStore(db);
  projectId = new ProjectStore(db).create('p', 'general').id;
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('RunStore', () => {
  it('keeps a run’s recipe, status history end and backend', () => {
    const run = runs.create({ projectId, kind: 'pretrain', config: { maskRatio: 0.75 } });
    expect(run).toMatchObject({ status: 'queued', config: { maskRatio: 0.75 }, finishedAt: null });
    expect(runs.setStatus(run.id, 'running', { backend: 'wasm' })).toMatchObject({
      status: 'running',
      backend: 'wasm',
    });
    const done = runs.setStatus(run.id, 'failed', { error: 'loss became NaN at step 12' });
    expect(done).toMatchObject({ status: 'failed', backend: 'wasm', error: 'loss became NaN at step 12' });
    expect(done.finishedAt).not.toBeNull();
  });

  it('links a fine-tune to its pretraining run', () => {
    const parent = runs.create({ projectId, kind: 'pretrain', config: {} });
    const child = runs.create({ projectId, kind: 'finetune', config: {}, parentRunId: parent.id });
    expect(child.parentRunId).toBe(parent.id);
    expect(runs.list(projectId).map((r) => r.id)).toEqual([child.id, parent.id]);
  });

  it("numbers runs within their project and kind, whatever the ids of other projects' runs", () => {
    const other = new ProjectStore(db).create('q', 'general').id;
    const create = (project: number, kind: 'pretrain' | 'probe') =>
      runs.create({ projectId: project, kind, config: {} }).id;
    const ids = [
      create(projectId, 'pretrain'),
      create(other, 'pretrain'),
      create(projectId, 'probe'),
      create(projectId, 'pretrain'),
      create(other, 'probe'),
    ];
    const numbers = runs.outcomes(ids);
    expect(ids.map((id) => numbers.get(id)!.number)).toEqual([1, 1, 1, 2, 1]); // run id 4 is this project's Pretrain #2
    // The Evaluate tab's numbering (one query per project) agrees with the history's.
    const byProject = runs.numbers(projectId);
    expect([ids[0], ids[2], ids[3]].map((id) => byProject.get(id!))).toEqual([1, 1, 2]);
    expect(byProject.has(ids[1]!)).toBe(false);
  });

  it('writes metrics in batches and lets a resumed run rewrite the steps after its checkpoint', () => {
    const run = runs.create({ projectId, kind: 'pretrain', config: {} });
    runs.appendMetrics(
      run.id,
      [1, 2, 3, 4].map((step) => ({ step, name: 'train_loss', value: 1 / step, time: step })),
    );
    runs.truncateMetrics(run.id, 2);
    runs.appendMetrics(run.id, [{ step: 3, name: 'train_loss', value: 0.3, time: 9 }]);
    expect(runs.metrics(run.id, 'train_loss').map((p) => [p.step, p.value])).toEqual([
      [1, 1],
      [2, 0.5],
      [3, 0.3],
    ]);
  });

  it('finds the latest checkpoint', () => {
    const run = runs.create({ projectId, kind: 'pretrain', config: {} });
    runs.addCheckpoint(run.id, 100, '/c/100.ckpt', 'a');
    runs.addCheckpoint(run.id, 200, '/c/200.ckpt', 'b');
    expect(runs.latestCheckpoint(run.id)).toMatchObject({ step: 200, path: '/c/200.ckpt', sha256: 'b' });
  });

  it("finds runs whose training process on this machine is gone; leaves live and other machines' runs alone", () => {
    const [gone, alive, elsewhere, paused] = [1, 2, 3, 4].map(
      () => runs.create({ projectId, kind: 'pretrain', config: {} }).id,
    );
    for (const id of [gone, alive, elsewhere]) runs.setStatus(id!, 'running');
    runs.setStatus(paused!, 'paused');
    db.prepare('UPDATE runs SET worker_pid = 999999 WHERE id = ?').run(gone);
    db.prepare("UPDATE runs SET worker_pid = 999999, worker_host = 'another-machine' WHERE id = ?").run(elsewhere);
    expect(runs.reapOrphans((pid) => pid === process.pid)).toEqual([gone]);
    expect(runs.get(gone!)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/pid 999999/) });
    expect([alive, elsewhere, paused].map((id) => runs.get(id!).status)).toEqual(['running', 'running', 'paused']);
    expect(runs.reapOrphans()).toEqual([]); // the real check: this process is alive
  });

  it.runIf(process.platform === 'linux')('counts a killed process that nothing reaped (a zombie) as gone', async () => {
    // `sleep 0` ends at once, but its parent became `sleep 30` (exec), which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number((await once(parent.stdout, 'data'))[0].toString().trim());
      await expect.poll(() => fs.readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]![0]).toBe('Z');
      const id = runs.create({ projectId, kind: 'pretrain', config: {} }).id;
      runs.setStatus(id, 'running');
      db.prepare('UPDATE runs SET worker_pid = ? WHERE id = ?').run(zombie, id);
      expect(runs.reapOrphans()).toEqual([id]);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('refuses an unknown run with its id', () => {
    expect(() => runs.get(77)).toThrow('no run with id 77');
    for (const change of [
      () => runs.setStatus(77, 'running'),
      () => runs.setResult(77, {}),
      () => runs.remove(77),
      () => runs.require(77),
    ]) {
      expect(change).toThrow('no run with id 77');
    }
  });
});
