/** The command line as users and scripts call it: the built `dist/cli/cli.js`, JSON and exit codes. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './cli/cli.fixtures';

let dir: string;

function run(...args: string[]) {
  return runCli(args, dir);
}

function json<T>(...args: string[]): T {
  const result = run(...args, '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-cli-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('mae-studio CLI', () => {
  it('demo runs the whole journey: sample, import, pretraining, three probes against random init, 3 exports', () => {
    const result = spawnSync(
      process.execPath,
      [CLI, 'demo', '--workspace', 'demo-ws', '--steps', '4', '--images', '40', '--json'],
      { encoding: 'utf8', cwd: dir },
    );
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ imported: 40, run: { status: 'completed', steps: 4 } });
    expect(summary.probes.map((p: { name: string }) => p.name)).toEqual([
      'linear probe, every label',
      'linear probe, 20 labels/class',
      'kNN (k = 20), every label',
    ]);
    for (const probe of summary.probes) {
      expect(probe.valImages).toBe(12); // 30% of 20 per label
      expect(probe.accuracy).toBeGreaterThanOrEqual(0);
      expect(typeof probe.baseline.randomInit).toBe('number');
      expect(probe.interval.low).toBeLessThanOrEqual(probe.accuracy);
      expect(typeof probe.baseline.rawPixels).toBe('number');
    }
    // a budget above the 14 per class fits on all
    expect(summary.probes[1]).toMatchObject({ labelsPerClass: 20, trainImages: 28 });
    expect(summary.exports.map((e: { format: string }) => e.format)).toEqual(['safetensors', 'onnx', 'tfjs']);
    for (const exported of summary.exports)
      for (const file of exported.files) expect(fs.existsSync(path.join(exported.dir, file)), file).toBe(true);
  }, 180_000);

  it('runs sample → init → import → images with one JSON document each', async () => {
    const sample = json<{ dir: string; files: number; labels: string[] }>(
      'sample',
      'data',
      '--domain',
      'medical',
      '--count',
      '12',
    );
    expect(sample.files).toBe(12);
    expect(sample.labels.length).toBe(2);
    fs.mkdirSync(path.join(dir, 'data', 'extra'));
    fs.writeFileSync(path.join(dir, 'data', 'extra', 'zero.png'), '');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .png()
      .toFile(path.join(dir, 'data', 'extra', 'ok.png'));

    const { project } = json<{ project: { id: number; name: string; domain: string } }>(
      'init',
      '--workspace',
      'ws',
      '--name',
      'CT',
      '--domain',
      'medical',
    );
    expect(project).toMatchObject({ id: 1, name: 'CT', domain: 'medical' });

    const imported = json<{ imported: number; skipped: number; errors: { path: string; reason: string }[] }>(
      'import',
      '--workspace',
      'ws',
      '--project',
      '1',
      'data',
    );
    expect(imported.imported).toBe(13);
    expect(imported.errors).toEqual([
      { path: path.join(dir, 'data', 'extra', 'zero.png'), reason: expect.stringMatching(/empty|0 bytes/) },
    ]);

    const again = json<{ imported: number; skipped: number }>('import', '--workspace', 'ws', '--project', '1', 'data');
    expect(again).toMatchObject({ imported: 0 });

    const { images } = json<{
      images: { path: string; bitDepth: number | null; label: string | null; error: string | null }[];
    }>('images', '--workspace', 'ws', '--project', '1');
    expect(images).toHaveLength(14);
    expect(images.filter((i) => i.error === null && i.label !== 'extra').every((i) => i.bitDepth === 16)).toBe(true);
    expect(Object.keys(images[0]!).sort()).toEqual([
      'bitDepth',
      'channels',
      'error',
      'format',
      'height',
      'label',
      'path',
      'sample',
      'width',
    ]);
  });

  it('exits 1 with a message naming what was wrong for user errors', () => {
    const cases: [string[], RegExp][] = [
      [['bogus'], /unknown command "bogus"/],
      [['init', '--workspace', 'ws'], /--name is required/],
      [
        ['init', '--workspace', 'ws', '--name', 'x', '--domain', 'astronomy'],
        /--domain must be one of .*got "astronomy"/,
      ],
      [['import', '--workspace', 'ws', '--project', 'abc', 'data'], /--project must be a positive integer, got "abc"/],
      [['import', '--workspace', 'ws', '--project', '99', 'data'], /no project with id 99/],
      [['import', '--workspace', 'ws', '--project', '1', 'no-such-folder'], /no-such-folder does not exist/],
      [['images', '--workspace', 'ws', '--project', '1', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['sample'], /exactly one output folder/],
      [
        ['pretrain', '--workspace', 'ws', '--project', '1', '--norm-pix', 'maybe'],
        /--norm-pix must be on or off, got "maybe"/,
      ],
      [['demo', '--images', '0'], /--images must be a positive integer, got "0"/],
    ];
    for (const [args, message] of cases) {
      const result = run(...args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
  });

  it('refuses a workspace written by a newer version, exit 1, file untouched', () => {
    const newer = path.join(dir, 'newer');
    fs.mkdirSync(newer);
    const file = path.join(newer, 'studio.sqlite');
    spawnSync(
      process.execPath,
      [
        '-e',
        `const D=require('better-sqlite3');const d=new ` +
          `D(${JSON.stringify(file)});d.pragma('user_version = 999');d.close()`,
      ],
      {
        cwd: path.resolve(import.meta.dirname, '..'),
      },
    );
    const before = fs.readFileSync(file);
    const result = run('images', '--workspace', newer, '--project', '1');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/newer MAE Studio/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });
});
