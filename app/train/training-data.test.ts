/**
 * Pretraining from the decoded cache as users run it: the same seed gives the same losses from
 * the cache as from the files; the next run reuses the cache; a training image edited on disk
 * after it was cached is read again (the run then trains on its new pixels, exactly as a run from
 * the files does); every step records the share of time spent waiting for data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryFolder, writeFixture } from '../data/images.fixtures';
import { cacheUsage } from '../data/cache/shards';
import { Studio } from '../studio';
import { Workspace } from '../workspace';
import { planPretrain } from './pretrain-plan';
import { executePretrain } from './pretrain-run';
import { TINY_PRETRAIN } from './probe.fixtures';

let data: ReturnType<typeof temporaryFolder>;
let workspaceDir: ReturnType<typeof temporaryFolder>;
let projectId: number;

beforeAll(async () => {
  data = temporaryFolder();
  workspaceDir = temporaryFolder('mae-workspace-');
  for (let index = 0; index < 10; index++) {
    await writeFixture(path.join(data.dir, 'all', `${index}.png`), {
      format: 'png',
      bitDepth: 8,
      channels: 3,
      width: 96,
      height: 80,
      seed: index,
    });
  }
  const studio = new Studio(workspaceDir.dir);
  projectId = studio.workspace.projects.create('cached', 'general').id;
  await studio.runImport('i', projectId, [data.dir]);
  await studio.close();
});
afterAll(() => {
  workspaceDir.remove();
  data.remove();
});

/** Plans and runs a 4-step pretraining; its losses, wait shares and log lines. */
async function pretrain(cache: boolean) {
  const workspace = new Workspace(workspaceDir.dir);
  const { runId } = (() => {
    try {
      return planPretrain(workspace, projectId, { ...TINY_PRETRAIN, steps: 4 });
    } finally {
      workspace.close();
    }
  })();
  const log: string[] = [];
  const finished = await executePretrain(workspaceDir.dir, runId, { cache, log: (line) => log.push(line) });
  expect(finished).toMatchObject({ status: 'completed' });
  const reopened = new Workspace(workspaceDir.dir);
  try {
    return {
      losses: reopened.runs.metrics(runId, 'train_loss').map((point) => point.value),
      waits: reopened.runs.metrics(runId, 'data_wait_share').map((point) => point.value),
      log: log.filter((line) => line.startsWith('training cache')),
      projectDir: reopened.projectDir(projectId),
    };
  } finally {
    reopened.close();
  }
}

describe('pretraining from the decoded cache', () => {
  it('gives the losses of a run from the files, and reuses the cache in the next run', async () => {
    const fromFiles = await pretrain(false);
    expect(fromFiles.log).toEqual([]);
    const first = await pretrain(true);
    expect(first.log).toEqual(['training cache: 0 of 7 samples reused, 7 read (0 changed on disk)']);
    expect(first.losses).toHaveLength(4);
    expect(first.losses).toEqual(fromFiles.losses);
    expect(cacheUsage(first.projectDir).samples).toBe(7);
    const second = await pretrain(true);
    expect(second.log).toEqual(['training cache: 7 of 7 samples reused, 0 read (0 changed on disk)']);
    expect(second.losses).toEqual(fromFiles.losses);
    expect(second.waits).toHaveLength(4);
    expect(second.waits.every((share) => share >= 0 && share <= 1)).toBe(true);
    // What Curate shows, and its Delete: through the services, as the UI calls them.
    const studio = new Studio(workspaceDir.dir);
    try {
      const usage = await studio.services.curation.trainingCache(projectId);
      expect(usage).toMatchObject({ projectId, shards: 1, samples: 7 });
      expect(usage.bytes).toBeGreaterThan(7 * 72 * 86 * 3); // 96×80 RGB stored at 86×72
      const runs = await studio.services.runs.list(projectId);
      expect(runs.every((run) => typeof run.dataWaitShare === 'number')).toBe(true); // the recipe panel's "bound by"
      expect(await studio.services.curation.deleteTrainingCache(projectId)).toEqual({
        projectId,
        bytes: 0,
        shards: 0,
        samples: 0,
        volumeCopies: 0,
        volumeCopyBytes: 0,
      });
    } finally {
      await studio.close();
    }
  }, 120_000);

  it('reads an image edited after it was cached again and trains on its new pixels', async () => {
    await pretrain(true);
    const before = await pretrain(false);
    // Every training image is edited: whichever ones the split put in training, all change.
    for (let index = 0; index < 10; index++) {
      const file = path.join(data.dir, 'all', `${index}.png`);
      await writeFixture(file, { format: 'png', bitDepth: 8, channels: 3, width: 96, height: 80, seed: 50 + index });
      const later = new Date(Date.now() + 5000);
      fs.utimesSync(file, later, later);
    }
    const fromCache = await pretrain(true);
    expect(fromCache.log).toEqual(['training cache: 0 of 7 samples reused, 7 read (7 changed on disk)']);
    const fromFiles = await pretrain(false);
    expect(fromCache.losses).toEqual(fromFiles.losses);
    expect(fromCache.losses).not.toEqual(before.losses); // the new pixels, not the cached ones
  }, 120_000);
});
