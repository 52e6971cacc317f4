/**
 * A run over a project of mixed channel counts (grey, RGB and RGBA PNG classes) as users make
 * one: pretraining reads every image the channel plan keeps, converted; a probe of it and its
 * model card name the class the plan left out.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryFolder, writeFixture } from '../data/images.fixtures';
import { buildModelCard } from '../export/model-card';
import { modelCardMarkdown } from '../export/model-card-markdown';
import { Studio } from '../studio';
import { Workspace } from '../workspace';
import { planPretrain } from './pretrain-plan';
import { executePretrain } from './pretrain-run';
import { pretrainRunOf } from './probe-model';
import { executeProbe, planProbe } from './probe-run';
import { TINY_PRETRAIN } from './probe.fixtures';

let data: ReturnType<typeof temporaryFolder>;
let workspaceDir: ReturnType<typeof temporaryFolder>;
let projectId: number;

beforeAll(async () => {
  data = temporaryFolder();
  workspaceDir = temporaryFolder('mae-workspace-');
  const classes = [
    ['grey', 1],
    ['rgb', 3],
    ['rgba', 4],
  ] as const;
  for (const [label, channels] of classes) {
    for (let index = 0; index < 6; index++) {
      await writeFixture(path.join(data.dir, label, `${index}.png`), {
        format: 'png',
        bitDepth: 8,
        channels,
        width: 32,
        height: 32,
        seed: index + channels,
      });
    }
  }
  const studio = new Studio(workspaceDir.dir);
  projectId = studio.workspace.projects.create('mixed', 'general').id;
  await studio.runImport('i', projectId, [data.dir]);
  await studio.close();
});
afterAll(() => {
  workspaceDir.remove();
  data.remove();
});

/** Saves conversions over the project's current plan, then plans and runs a tiny pretraining. */
async function pretrain(conversions: Record<string, 'repeat' | 'exclude'>): Promise<number> {
  const studio = new Studio(workspaceDir.dir);
  const { plan } = await studio.services.curation.channelPlan(projectId);
  await studio.services.curation.setChannelPlan(projectId, {
    ...plan,
    conversions: { ...plan.conversions, ...conversions },
  });
  const { runId } = planPretrain(studio.workspace, projectId, { ...TINY_PRETRAIN, steps: 4 });
  await studio.close();
  const finished = await executePretrain(workspaceDir.dir, runId, { log: () => {} });
  expect(finished).toMatchObject({ status: 'completed' });
  return runId;
}

describe('a run over mixed channel counts', () => {
  it('pretrains on RGB, grey repeated and RGBA without alpha: all 18 images', async () => {
    const runId = await pretrain({ 1: 'repeat' });
    const workspace = new Workspace(workspaceDir.dir);
    try {
      const { data: dataset } = workspace.runs.get(runId).config as {
        data: { channels: number; trainImageIds: number[]; valImageIds: number[]; excludedClasses: string[] };
      };
      // 6 images of each count: the tie goes to RGB, which keeps every image without losing colour.
      expect([
        dataset.channels,
        dataset.trainImageIds.length + dataset.valImageIds.length,
        dataset.excludedClasses,
      ]).toEqual([3, 18, []]);
    } finally {
      workspace.close();
    }
  }, 60_000);

  it('names the class the plan leaves out in the probe report', async () => {
    const runId = await pretrain({ 1: 'exclude' });
    const workspace = new Workspace(workspaceDir.dir);
    const probeId = (() => {
      try {
        return planProbe(workspace, runId, { method: 'knn', k: 3, backend: 'cpu' });
      } finally {
        workspace.close();
      }
    })();
    const report = await executeProbe(workspaceDir.dir, probeId);
    expect(report.classes).toEqual(['rgb', 'rgba']);
    expect(report.excludedClasses).toEqual(['grey']);
    // The model card says what the encoder saw.
    const card = (() => {
      const reopened = new Workspace(workspaceDir.dir);
      try {
        const run = pretrainRunOf(reopened, reopened.runs.get(runId)); // a pretraining run is its own
        return modelCardMarkdown(buildModelCard(reopened, run, run, 4, null, 'mean', null));
      } finally {
        reopened.close();
      }
    })();
    expect(card).toContain(
      'Channel plan: 3-channel images as they are; 1-channel images left out; 4-channel images alpha dropped.',
    );
    expect(card).toContain('Classes left out by the channel plan (never seen by the encoder): grey.');
  }, 60_000);
});
