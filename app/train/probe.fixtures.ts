/**
 * Test fixture of the downstream tests: a workspace with a labelled sample and one tiny
 * pretraining run, trained in-process on the cpu backend in a few seconds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSample } from '../data/synthetic/datasets';
import { Studio } from '../studio';
import { Workspace } from '../workspace';
import { planPretrain, type PretrainOptions } from './pretrain-plan';
import { executePretrain } from './pretrain-run';

/** A model small enough to pretrain in seconds: 32 px, patch 8, one block. */
export const TINY_PRETRAIN: PretrainOptions = {
  imgSize: 32,
  patchSize: 8,
  depth: 1,
  decoder: '32x1',
  batchSize: 4,
  steps: 12,
  blr: 5e-3,
  seed: 7,
  backend: 'cpu',
  valFraction: 0.25,
};

/** A pretrained workspace; `remove()` deletes it. */
export interface PretrainedFixture {
  dir: string;
  workspaceDir: string;
  projectId: number;
  runId: number;
  /** Absolute paths of the sample images (to check nothing leaks them). */
  imageDir: string;
  open<T>(use: (workspace: Workspace) => T): T;
  /** As `open`, for work that awaits: the workspace stays open until it settles. */
  openAsync<T>(use: (workspace: Workspace) => Promise<T>): Promise<T>;
  remove(): void;
}

/** Writes a 2-label medical sample, imports it and pretrains `TINY_PRETRAIN` on it. */
export async function pretrainedFixture(options: PretrainOptions = TINY_PRETRAIN): Promise<PretrainedFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-downstream-'));
  const workspaceDir = path.join(dir, 'ws');
  const sample = await writeSample(path.join(dir, 'sample'), { domain: 'medical', count: 24, seed: 5 });
  const studio = new Studio(workspaceDir);
  const projectId = studio.workspace.projects.create('Scans', 'medical').id;
  await studio.runImport('fixture', projectId, [sample.dir]);
  const { runId } = planPretrain(studio.workspace, projectId, options);
  await studio.close();
  const finished = await executePretrain(workspaceDir, runId, { log: () => {} });
  if (finished.status !== 'completed') throw new Error(`fixture pretraining ${finished.status}`);
  const open = <T>(use: (workspace: Workspace) => T): T => {
    const workspace = new Workspace(workspaceDir);
    try {
      return use(workspace);
    } finally {
      workspace.close();
    }
  };
  const openAsync = async <T>(use: (workspace: Workspace) => Promise<T>): Promise<T> => {
    const workspace = new Workspace(workspaceDir);
    try {
      return await use(workspace);
    } finally {
      workspace.close();
    }
  };
  return {
    dir,
    workspaceDir,
    projectId,
    runId,
    imageDir: sample.dir,
    open,
    openAsync,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
