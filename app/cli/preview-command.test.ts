/** `preview-mask --3d` as scripts call it: the built CLI on an imported NIfTI volume, exit codes 0/1. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeMaskPreview } from '../contract';
import { makeNifti } from '../data/formats/nifti.fixtures';
import { temporaryFolder } from '../data/images.fixtures';
import { runCli } from './cli.fixtures';

const data = temporaryFolder();
const workspace = temporaryFolder('mae-workspace-');
const file = path.join(data.dir, 'head.nii');

beforeAll(() => {
  const values = Array.from({ length: 32 * 24 * 16 }, (_, index) => (index * 13) % 500);
  fs.writeFileSync(file, makeNifti({ datatype: 4, dims: [32, 24, 16], values, pixdim: [1, 1, 3] }));
  expect(runCli(['init', '--workspace', workspace.dir, '--name', 'MR', '--json']).code).toBe(0);
  expect(runCli(['import', '--workspace', workspace.dir, '--project', '1', data.dir, '--json']).code).toBe(0);
});
afterAll(() => {
  workspace.remove();
  data.remove();
});

describe('mae-studio preview-mask --3d', () => {
  it('prints the tokens seen and masked, in all and on each plane', () => {
    const base = ['preview-mask', '--3d', '--workspace', workspace.dir, '--project', '1', '--file', file];
    const shape = ['--crop', '16x24x32', '--patch', '4x8x8', '--seed', '5'];
    const json = runCli([...base, ...shape, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const preview = JSON.parse(json.stdout) as VolumeMaskPreview;
    expect(preview).toMatchObject({ volumeSize: [16, 24, 32], spacing: [3, 1, 1], tokens: 48, visible: 12 });
    expect(preview.planes.map((plane) => plane.patches)).toEqual([12, 16, 12]);
    const human = runCli([...base, ...shape]);
    expect(human.stdout).toContain('48 tokens (4 × 3 × 4 patches of 4×8×8), random masking at 0.75, seed 5');
    expect(human.stdout).toContain('12 seen by the encoder, 36 masked');
  });

  it('refuses a crop larger than the volume with exit code 1 and the sizes', () => {
    const result = runCli(['preview-mask', '--3d', '--workspace', workspace.dir, '--project', '1', '--file', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cropSize 64×64×64 is larger than head.nii, which is 16×24×32');
  });
});
