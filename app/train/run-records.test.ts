/** Runs typed by kind: reports come back only from the kind of run that writes them. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Workspace } from '../workspace';
import { finetuneReport, probeReport, typedRun, withRunStatus } from './run-records';

let dir: string;
let workspace: Workspace;
let projectId: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-run-records-'));
  workspace = new Workspace(dir);
  projectId = workspace.projects.create('p', 'general').id;
});
afterEach(() => {
  workspace.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('run records by kind', () => {
  it('gives a probe’s stored report, and says why when a run has none or is another kind', () => {
    const pretrain = workspace.runs.create({ projectId, kind: 'pretrain', config: { recipe: { maskRatio: 0.75 } } }).id;
    const probe = workspace.runs.create({ projectId, kind: 'probe', config: { pretrainRunId: pretrain }, parentRunId: pretrain }).id;
    expect(() => probeReport(workspace.runs.get(probe))).toThrow(`probe run ${probe} has no report: it is queued`);
    workspace.runs.setStatus(probe, 'failed', { error: 'NaN loss' });
    expect(() => probeReport(workspace.runs.get(probe))).toThrow(`probe run ${probe} has no report: it is failed (NaN loss)`);
    workspace.runs.setResult(probe, { method: 'linear', pretrained: { accuracy: 0.9 } });
    expect(probeReport(workspace.runs.get(probe))).toMatchObject({ method: 'linear', pretrained: { accuracy: 0.9 } });
    expect(() => finetuneReport(workspace.runs.get(probe))).toThrow(`run ${probe} is a probe run, not a finetune run`);
    expect(() => probeReport(workspace.runs.get(pretrain))).toThrow(`run ${pretrain} is a pretrain run, not a probe run`);
    const run = typedRun(workspace.runs.get(pretrain));
    expect(run.kind === 'pretrain' && run.config.recipe).toEqual({ maskRatio: 0.75 });
  });
});

describe('withRunStatus', () => {
  it('marks a run failed with the reason when its work throws, rethrows, and leaves a finished run', async () => {
    const id = workspace.runs.create({ projectId, kind: 'probe', config: {} }).id;
    workspace.runs.setStatus(id, 'running');
    await expect(withRunStatus(workspace.runs, id, async () => { throw new Error('image 3 could not be decoded'); }))
      .rejects.toThrow('image 3 could not be decoded');
    expect(workspace.runs.get(id)).toMatchObject({ status: 'failed', error: 'image 3 could not be decoded' });

    const done = workspace.runs.create({ projectId, kind: 'probe', config: {} }).id;
    expect(await withRunStatus(workspace.runs, done, async () => { workspace.runs.setStatus(done, 'completed'); return 7; })).toBe(7);
    expect(workspace.runs.get(done).status).toBe('completed');
  });

  it('keeps the original error when the run does not exist', async () => {
    await expect(withRunStatus(workspace.runs, 999, async () => { throw new Error('run 999 not found'); })).rejects.toThrow('run 999 not found');
  });
});
