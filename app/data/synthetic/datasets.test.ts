import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_DOMAINS, writeSample, type SampleDomain } from './datasets';
import { temporaryFolder } from '../images.fixtures';

let folder: ReturnType<typeof temporaryFolder>;
beforeEach(() => (folder = temporaryFolder('mae-sample-')));
afterEach(() => folder.remove());

const expected: Record<SampleDomain, { channels: number; format: string; labels: string[] }> = {
  microscopy: { channels: 3, format: 'png', labels: ['clustered', 'round', 'spindle'] },
  'remote-sensing': { channels: 4, format: 'tiff', labels: ['fields', 'forest', 'urban', 'water'] },
  medical: { channels: 1, format: 'png', labels: ['ring-lesion', 'round-lesion'] },
};

describe('writeSample', () => {
  for (const domain of Object.keys(expected) as SampleDomain[]) {
    it(`writes ${domain} images as 16-bit files in one folder per label`, async () => {
      const result = await writeSample(folder.dir, { domain, count: 12 });
      expect(result).toEqual({ dir: folder.dir, files: 12, labels: expected[domain].labels });
      const files = result.labels.flatMap((label) =>
        fs.readdirSync(path.join(folder.dir, label)).map((name) => path.join(folder.dir, label, name)),
      );
      expect(files).toHaveLength(12);
      for (const label of result.labels)
        expect(fs.readdirSync(path.join(folder.dir, label)).length).toBe(12 / result.labels.length);
      for (const file of files) {
        const metadata = await sharp(file).metadata();
        expect([metadata.format, metadata.depth, metadata.channels]).toEqual([
          expected[domain].format,
          'ushort',
          expected[domain].channels,
        ]);
        expect(metadata.width).toBeGreaterThanOrEqual(64);
        expect(metadata.width).toBeLessThanOrEqual(128);
      }
    });
  }

  it('writes the same bytes for the same seed and different ones for another seed', async () => {
    const other = temporaryFolder('mae-sample-');
    try {
      await writeSample(folder.dir, { domain: 'medical', count: 4, seed: 7 });
      await writeSample(other.dir, { domain: 'medical', count: 4, seed: 7 });
      const file = path.join('round-lesion', 'round-lesion-000.png');
      expect(fs.readFileSync(path.join(folder.dir, file))).toEqual(fs.readFileSync(path.join(other.dir, file)));
      await writeSample(other.dir, { domain: 'medical', count: 4, seed: 8 });
      expect(fs.readFileSync(path.join(folder.dir, file))).not.toEqual(fs.readFileSync(path.join(other.dir, file)));
    } finally {
      other.remove();
    }
  });

  it('draws labels that differ in their pixels', async () => {
    // Mean of the near-infrared band: high for forest and fields, low for water.
    await writeSample(folder.dir, { domain: 'remote-sensing', count: 8 });
    const nir = async (label: string) => {
      const file = path.join(folder.dir, label, fs.readdirSync(path.join(folder.dir, label))[0]!);
      const { data } = await sharp(file)
        .toColourspace('rgb16')
        .raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      const values = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
      let sum = 0;
      for (let index = 3; index < values.length; index += 4) sum += values[index]!;
      return sum / (values.length / 4);
    };
    expect(await nir('forest')).toBeGreaterThan(5 * (await nir('water')));
  });

  it('refuses a count that is not a positive integer, naming it', async () => {
    await expect(writeSample(folder.dir, { domain: 'medical', count: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'sample count must be a positive integer, got 0',
    });
  });

  it('uses a default count of 60 to 120 images per domain', () => {
    for (const recipe of Object.values(SAMPLE_DOMAINS)) {
      expect(recipe.defaultCount).toBeGreaterThanOrEqual(60);
      expect(recipe.defaultCount).toBeLessThanOrEqual(120);
    }
  });
});
