/**
 * The flat-patch warning: tiny images upscaled so far that every patch is one source pixel make
 * the norm-pix target ~0, and the recipe check says so with what to change; ordinary images, or
 * the same images with norm-pix loss off, get no warning.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../mae/rng';
import { Studio } from '../studio';
import { countFlatPatches } from './flat-patches';

/** Writes `count` grey PNGs per label: 8×8 random pixels upscaled ×4 by nearest neighbour, or 32×32 random. */
async function writeSet(dir: string, upscaled: boolean, count = 6): Promise<string> {
  const rng = Rng.fromSeed(upscaled ? 1 : 2);
  for (const label of ['a', 'b']) {
    fs.mkdirSync(path.join(dir, label), { recursive: true });
    for (let i = 0; i < count; i++) {
      const side = upscaled ? 8 : 32;
      const pixels = Buffer.from(Array.from({ length: side * side }, () => rng.int(256)));
      let image = sharp(pixels, { raw: { width: side, height: side, channels: 1 } });
      if (upscaled) image = image.resize(32, 32, { kernel: 'nearest' });
      await image.png().toFile(path.join(dir, label, `${i}.png`));
    }
  }
  return dir;
}

let dir: string;
let studio: Studio;
const projects: { upscaled: number; normal: number } = { upscaled: 0, normal: 0 };
const RECIPE = {
  imgSize: 32,
  patchSize: 4,
  depth: 1,
  decoder: '32x1',
  batchSize: 4,
  steps: 4,
  backend: 'cpu',
} as const;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-flat-patches-'));
  studio = new Studio(path.join(dir, 'ws'));
  for (const kind of ['upscaled', 'normal'] as const) {
    projects[kind] = studio.workspace.projects.create(kind, 'general').id;
    await studio.runImport(kind, projects[kind], [await writeSet(path.join(dir, kind), kind === 'upscaled')]);
  }
}, 60_000);
afterAll(async () => {
  await studio.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('counting flat patches', () => {
  it('finds every patch of a constant image flat and none of a noisy one', () => {
    const constant = new Float32Array(2 * 8 * 8).fill(0.3);
    expect(countFlatPatches(constant, 1, 2, 8, 4)).toEqual({ patches: 4, flat: 4 });
    const rng = Rng.fromSeed(3);
    const noisy = Float32Array.from({ length: 2 * 8 * 8 }, () => rng.normal());
    expect(countFlatPatches(noisy, 2, 1, 8, 4)).toEqual({ patches: 8, flat: 0 });
  });
});

describe('the recipe check', () => {
  it('warns, with the shares of a larger patch and a smaller size, when most patches are flat', async () => {
    const check = await studio.services.training.check(projects.upscaled, { ...RECIPE, normPixLoss: true });
    expect(check.ok).toBe(true);
    expect(check.warnings).toHaveLength(1);
    const [warning] = check.warnings!;
    // Each 4×4 patch at 32 px is one pixel of the 8×8 original: all flat.
    expect(warning).toMatch(/^100% of the \d+ patches of \d+ training images are flat at 32 px with patch 4/);
    expect(warning).toMatch(/a larger patch \(8: 0% flat\)/);
    expect(warning).toMatch(/a smaller image size \(16 px: \d+% flat\)/);
    expect(warning).toMatch(/norm-pix loss off/);
  });

  it('says nothing for ordinary images, or when norm-pix loss is off', async () => {
    expect((await studio.services.training.check(projects.normal, { ...RECIPE, normPixLoss: true })).warnings).toEqual(
      [],
    );
    expect(
      (await studio.services.training.check(projects.upscaled, { ...RECIPE, normPixLoss: false })).warnings,
    ).toEqual([]);
  });
});
