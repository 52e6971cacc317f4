/** `pretrain --3d`, then `probe` and `export` of the 3-D run, as scripts call them: the built CLI, JSON out. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryFolder } from '../data/images.fixtures';
import { makeNifti } from '../data/formats/nifti.fixtures';
import { runCli } from './cli.fixtures';
import { parseSize3d } from './volume-commands';

let folder: ReturnType<typeof temporaryFolder>;

beforeAll(() => {
  folder = temporaryFolder();
  // Two labelled folders of three 16 × 16 × 8 volumes (0.7 × 0.7 × 2.1 mm).
  for (const label of ['left', 'top']) {
    fs.mkdirSync(path.join(folder.dir, 'data', label), { recursive: true });
    for (let n = 0; n < 3; n++) {
      const values = Array.from({ length: 16 * 16 * 8 }, (_, index) => {
        const [i, j] = [index % 16, Math.floor(index / 16) % 16];
        return (label === 'left' ? i < 8 : j < 8) ? 500 + ((index * 7 + n) % 40) : (index * 13 + n) % 40;
      });
      fs.writeFileSync(
        path.join(folder.dir, 'data', label, `${label}${n}.nii`),
        makeNifti({ datatype: 4, dims: [16, 16, 8], values, pixdim: [0.7, 0.7, 2.1] }),
      );
    }
  }
});
afterAll(() => folder.remove());

function run(...args: string[]) {
  return runCli(args, folder.dir);
}

describe('mae-studio pretrain --3d', () => {
  it('reads --crop3d / --patch3d as slices x rows x columns and names a bad flag', () => {
    expect(parseSize3d('patch3d', '4x16x16')).toEqual([4, 16, 16]);
    expect(() => parseSize3d('crop3d', '64x64')).toThrow(
      'pretrain: --crop3d must be three whole numbers slices x rows x columns, e.g. 4x16x16, got "64x64"',
    );
  });

  it('trains a 3-D MAE on the volumes, then probes it on folder labels and exports its encoder', () => {
    const init = run('init', '--workspace', 'ws', '--name', 'ct', '--json');
    expect(init.code, init.stderr).toBe(0);
    const projectId = String(JSON.parse(init.stdout).project.id);
    expect(run('import', '--workspace', 'ws', '--project', projectId, 'data', '--json').code).toBe(0);

    const pretrain = run(
      ...['pretrain', '--workspace', 'ws', '--project', projectId, '--3d', '--crop3d', '8x16x16'],
      ...['--patch3d', '4x8x8', '--depth', '1', '--decoder', '32x1', '--batch', '2', '--steps', '2'],
      ...['--val-fraction', '0.34', '--backend', 'cpu', '--json'],
    );
    expect(pretrain.code, pretrain.stderr).toBe(0);
    const { run: trained } = JSON.parse(pretrain.stdout);
    expect(trained).toMatchObject({ status: 'completed', step: 2 });
    expect(Number.isFinite(trained.finalLoss)).toBe(true);

    const probe = run('probe', '--workspace', 'ws', '--run', String(trained.id), '--backend', 'cpu', '--json');
    expect(probe.code, probe.stderr).toBe(0);
    const report = JSON.parse(probe.stdout);
    expect(report).toMatchObject({ classes: ['left', 'top'], trainImages: 4, valImages: 2 });
    expect(report.interval.low).toBeLessThanOrEqual(report.accuracy);
    expect(typeof report.baseline.randomInit).toBe('number');
    expect(report.baseline).toMatchObject({ rawPixelSide: 8, rawPixelAxes: 3 }); // voxels box-averaged to 8³

    const exported = run(
      ...['export', '--workspace', 'ws', '--run', String(trained.id), '--format', 'safetensors'],
      ...['--out', 'encoder', '--json'],
    );
    expect(exported.code, exported.stderr).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(folder.dir, 'encoder', 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architecture: 'mae3d_vit',
      args: { volume_size: [8, 16, 16], patch_size: [4, 8, 8] },
    });

    const refused = run('pretrain', '--workspace', 'ws', '--project', projectId, '--3d', '--img', '64', '--json');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--img is a 2-D flag; a 3-D run takes --crop3d, --patch3d and --resample');
  }, 120_000);
});
