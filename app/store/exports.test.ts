/** The exports table: what the Export screen lists, per project, newest first, gone with its run. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from './database';
import { ExportStore } from './exports';
import { ProjectStore } from './projects';
import { RunStore } from './runs';

let dir: string;
let db: Db;
let exports: ExportStore;
let runs: RunStore;
let projects: ProjectStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-exports-'));
  db = openDatabase(dir);
  exports = new ExportStore(db);
  runs = new RunStore(db);
  projects = new ProjectStore(db);
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('ExportStore', () => {
  it('records exports and lists a project’s newest first, without other projects’ ones', () => {
    const mine = projects.create('mine', 'general').id;
    const other = projects.create('other', 'general').id;
    const run = runs.create({ projectId: mine, kind: 'pretrain', config: {} }).id;
    const elsewhere = runs.create({ projectId: other, kind: 'pretrain', config: {} }).id;
    const first = exports.add(run, 'safetensors', '/w/exports/1/model.safetensors');
    expect(first).toMatchObject({ runId: run, format: 'safetensors', path: '/w/exports/1/model.safetensors' });
    expect(Number.isNaN(Date.parse(first.createdAt))).toBe(false);
    const second = exports.add(run, 'onnx', '/w/exports/2/model.onnx');
    exports.add(elsewhere, 'tfjs', '/w/exports/3/model.json');
    expect(exports.list(mine).map((record) => [record.id, record.format])).toEqual([
      [second.id, 'onnx'],
      [first.id, 'safetensors'],
    ]);
    expect(exports.list(other).map((record) => record.format)).toEqual(['tfjs']);
  });

  it('forgets a run’s exports when the run is deleted, and refuses an export of no run', () => {
    const projectId = projects.create('p', 'general').id;
    const run = runs.create({ projectId, kind: 'pretrain', config: {} }).id;
    exports.add(run, 'onnx', '/w/model.onnx');
    runs.remove(run);
    expect(exports.list(projectId)).toEqual([]);
    expect(() => exports.add(run, 'onnx', '/w/model.onnx')).toThrow(/FOREIGN KEY/);
  });
});
