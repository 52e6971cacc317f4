/** `relabel` and `reprobe` as scripts call them: the built CLI, one JSON document, exit codes 0/1. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeProbe, planProbe } from '../train/probe-run';
import { pretrainedFixture, type PretrainedFixture } from '../train/probe.fixtures';
import { runCli } from './cli.fixtures';

let fixture: PretrainedFixture;
let probeRunId: number;

function run(...args: string[]) {
  return runCli(args);
}

beforeAll(async () => {
  fixture = await pretrainedFixture();
  probeRunId = fixture.open((w) => planProbe(w, fixture.runId, { method: 'linear', backend: 'cpu' }));
  await executeProbe(fixture.workspaceDir, probeRunId);
}, 120_000);
afterAll(() => fixture?.remove());

describe('mae-studio relabel / reprobe', () => {
  it('relabels a folder, reprobes with the change, lists the history and undoes', () => {
    const folder = path.join(fixture.imageDir, 'ring-lesion');
    const set = run(
      'relabel',
      '--workspace',
      fixture.workspaceDir,
      '--project',
      String(fixture.projectId),
      '--folder',
      folder,
      '--label',
      'round-lesion',
      '--json',
    );
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      changed: 12,
      change: { label: 'round-lesion', images: 12, previous: [{ label: 'ring-lesion', count: 12 }] },
    });

    // Every image is round-lesion now: one class left, and the probe says so instead of fitting.
    const refused = run('reprobe', '--workspace', fixture.workspaceDir, '--run', String(probeRunId));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the probed training images hold only "round-lesion": a probe needs at least two');

    const history = JSON.parse(
      run('relabel', '--workspace', fixture.workspaceDir, '--project', String(fixture.projectId), '--history', '--json')
        .stdout,
    );
    expect(history.history).toHaveLength(1);
    const undo = JSON.parse(
      run('relabel', '--workspace', fixture.workspaceDir, '--project', String(fixture.projectId), '--undo', '--json')
        .stdout,
    );
    expect(undo.undone.undoneAt).not.toBeNull();

    const reprobe = run('reprobe', '--workspace', fixture.workspaceDir, '--run', String(probeRunId), '--json');
    expect(reprobe.code, reprobe.stderr).toBe(0);
    const report = JSON.parse(reprobe.stdout);
    expect(report.relabelled).toBe(0);
    expect(report.after.pretrained.accuracy).toBe(report.before.pretrained.accuracy);
  });

  it('refuses a call without a label or selection, naming what is missing', () => {
    const missing = run(
      'relabel',
      '--workspace',
      fixture.workspaceDir,
      '--project',
      String(fixture.projectId),
      '--images',
      '1,2',
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('relabel: give --label NAME or --clear');
    const bad = run(
      'relabel',
      '--workspace',
      fixture.workspaceDir,
      '--project',
      String(fixture.projectId),
      '--images',
      '3-x',
      '--label',
      'a',
    );
    expect(bad.stderr).toContain('relabel: --images takes image ids and ranges like 3,4,10-12, got "3-x"');
  });
});
