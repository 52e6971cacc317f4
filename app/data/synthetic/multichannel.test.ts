import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readTiffLayout, readTiffSample } from '../formats/tiff';
import { temporaryFolder } from '../images.fixtures';
import { imageSeed, Random } from './draw';
import { MULTICHANNEL_SAMPLES, writeMultichannelSample, type MultichannelSampleKind } from './multichannel';

let folder: ReturnType<typeof temporaryFolder>;
beforeEach(() => (folder = temporaryFolder('mae-multichannel-')));
afterEach(() => folder.remove());

/** Largest |a − b| of one band over every pixel of two interleaved images. */
function bandDifference(a: Uint16Array, b: Uint16Array, band: number, bands: number): number {
  let largest = 0;
  for (let index = band; index < a.length; index += bands) largest = Math.max(largest, Math.abs(a[index]! - b[index]!));
  return largest;
}

/** Per-image, per-channel standardised values of one band. */
function standardised(pixels: Uint16Array, band: number, bands: number): Float64Array {
  const values = Float64Array.from({ length: pixels.length / bands }, (_, index) => pixels[index * bands + band]!);
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const spread = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / values.length) || 1;
  return values.map((value) => (value - mean) / spread);
}

/**
 * The Mito channel's raw total, and three statistics of it after per-channel standardisation: how
 * peaked (kurtosis), how rough at one pixel (Laplacian energy: puncta), how much lies near DNA (7×7 box).
 */
function mitoStatistics(pixels: Uint16Array, size: number, bands: number) {
  const mito = standardised(pixels, 4, bands);
  const dna = standardised(pixels, 0, bands);
  let [total, kurtosis, roughness, besideNucleus] = [0, 0, 0, 0];
  for (let index = 4; index < pixels.length; index += bands) total += pixels[index]!;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const value = mito[y * size + x]!;
      kurtosis += value ** 4;
      if (x > 0 && y > 0 && x < size - 1 && y < size - 1) {
        const around = mito[(y - 1) * size + x]! + mito[(y + 1) * size + x]! + mito[y * size + x - 1]!;
        roughness += (4 * value - around - mito[y * size + x + 1]!) ** 2;
      }
      let near = 0;
      for (let dy = -3; dy <= 3; dy++)
        for (let dx = -3; dx <= 3; dx++)
          near += dna[Math.min(size - 1, Math.max(0, y + dy)) * size + Math.min(size - 1, Math.max(0, x + dx))]!;
      besideNucleus += (value * near) / 49;
    }
  }
  return { total, kurtosis, roughness, besideNucleus };
}

/** Labels of `test` by the nearest class centroid of `train`, each feature scaled by its spread over `train`. */
function nearestCentroid(train: number[][], labels: number[], test: number[][], classes: number): number[] {
  const width = train[0]!.length;
  const column = (feature: number) => train.map((row) => row[feature]!);
  const mean = Array.from({ length: width }, (_, f) => column(f).reduce((a, b) => a + b, 0) / train.length);
  const spread = Array.from(
    { length: width },
    (_, f) => Math.sqrt(column(f).reduce((a, b) => a + (b - mean[f]!) ** 2, 0) / train.length) || 1,
  );
  const scaled = (row: number[]) => row.map((value, f) => (value - mean[f]!) / spread[f]!);
  const centroids = Array.from({ length: classes }, (_, label) => {
    const rows = train.filter((_, index) => labels[index] === label).map(scaled);
    return Array.from({ length: width }, (_, f) => rows.reduce((sum, row) => sum + row[f]!, 0) / rows.length);
  });
  return test.map((row) => {
    const point = scaled(row);
    const distances = centroids.map((centroid) =>
      centroid.reduce((sum, value, f) => sum + (value - point[f]!) ** 2, 0),
    );
    return distances.indexOf(Math.min(...distances));
  });
}

const kinds = Object.keys(MULTICHANNEL_SAMPLES) as MultichannelSampleKind[];

describe('multichannel samples', () => {
  for (const kind of kinds) {
    it(`${kind}: labels of one image seed differ in the label's bands only`, () => {
      const sample = MULTICHANNEL_SAMPLES[kind];
      const bands = sample.bandNames.length;
      for (const index of [0, 1, 2]) {
        const drawn = sample.labels.map((label) =>
          sample.draw(label, new Random(imageSeed(5, index))).toUint16(sample.scale),
        );
        for (let band = 0; band < bands; band++) {
          for (let other = 1; other < drawn.length; other++) {
            const difference = bandDifference(drawn[0]!, drawn[other]!, band, bands);
            if (sample.labelBands.includes(band)) continue;
            expect(difference, `${kind} band ${sample.bandNames[band]}`).toBe(0);
          }
        }
        // Every pair of labels differs in some label band by more than 100 units (0.01 of reflectance).
        for (let first = 0; first < drawn.length; first++) {
          for (let second = first + 1; second < drawn.length; second++) {
            const largest = Math.max(
              ...sample.labelBands.map((band) => bandDifference(drawn[first]!, drawn[second]!, band, bands)),
            );
            expect(largest, `${sample.labels[first]} vs ${sample.labels[second]}`).toBeGreaterThan(100);
          }
        }
      }
    });
  }

  it('cell-painting: the Mito amount says nothing of the treatment, its standardised morphology does', () => {
    // CA-MAE standardises every channel of every image: the label must survive that, and the amount must not carry it.
    const sample = MULTICHANNEL_SAMPLES['cell-painting'];
    const draw = (seed: number) =>
      Array.from({ length: 30 }, (_, index) => {
        const label = index % 3;
        const canvas = sample.draw(sample.labels[label]!, new Random(imageSeed(seed, index)));
        return { label, ...mitoStatistics(canvas.toUint16(sample.scale), canvas.width, sample.bandNames.length) };
      });
    const [train, test] = [draw(7), draw(8)];
    const accuracy = (features: (row: (typeof train)[number]) => number[]) =>
      nearestCentroid(
        train.map(features),
        train.map((row) => row.label),
        test.map(features),
        3,
      ).filter((label, index) => label === test[index]!.label).length / test.length;
    expect(accuracy((row) => [row.total])).toBeLessThan(0.55); // chance is 1/3
    expect(accuracy((row) => [row.kurtosis, row.roughness, row.besideNucleus])).toBeGreaterThan(0.8);
  });

  it('writes 13-band Sentinel-2-like TIFFs whose band names the reader finds, the same bytes for a seed', async () => {
    const result = await writeMultichannelSample(folder.dir, { kind: 'sentinel-2', count: 8, seed: 3 });
    expect(result.labels).toEqual(['grassland', 'maize', 'rapeseed', 'wheat']);
    const file = path.join(folder.dir, 'maize', 'maize-000.tif');
    const layout = await readTiffLayout(new Uint8Array(fs.readFileSync(file)));
    expect([layout.width, layout.height, layout.bands, layout.sampleType]).toEqual([64, 64, 13, 'uint16']);
    expect(layout.channelNames).toEqual(MULTICHANNEL_SAMPLES['sentinel-2'].bandNames);
    const raster = await readTiffSample(layout, 0);
    const expected = MULTICHANNEL_SAMPLES['sentinel-2'].draw('maize', new Random(imageSeed(3, 1))).toUint16(10000);
    expect(Array.from(raster.values)).toEqual(Array.from(expected));

    const again = temporaryFolder('mae-multichannel-');
    try {
      await writeMultichannelSample(again.dir, { kind: 'sentinel-2', count: 8, seed: 3 });
      expect(fs.readFileSync(path.join(again.dir, 'maize', 'maize-000.tif'))).toEqual(fs.readFileSync(file));
      await writeMultichannelSample(again.dir, { kind: 'sentinel-2', count: 8, seed: 4 });
      expect(fs.readFileSync(path.join(again.dir, 'maize', 'maize-000.tif'))).not.toEqual(fs.readFileSync(file));
    } finally {
      again.remove();
    }
  });

  it('writes 5-channel Cell-Painting-like TIFFs named DNA, ER, RNA, AGP, Mito', async () => {
    const result = await writeMultichannelSample(folder.dir, { kind: 'cell-painting', count: 3 });
    expect(result).toEqual({ dir: folder.dir, files: 3, labels: ['control', 'fragmented', 'perinuclear'] });
    const layout = await readTiffLayout(
      new Uint8Array(fs.readFileSync(path.join(folder.dir, 'control', 'control-000.tif'))),
    );
    expect([layout.bands, layout.channelNames]).toEqual([5, ['DNA', 'ER', 'RNA', 'AGP', 'Mito']]);
  });

  it('refuses an unknown kind and a bad count, naming them', async () => {
    await expect(
      writeMultichannelSample(folder.dir, { kind: 'hyperspectral' as MultichannelSampleKind }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('"hyperspectral"') });
    await expect(writeMultichannelSample(folder.dir, { kind: 'cell-painting', count: 1.5 })).rejects.toMatchObject({
      message: 'sample count must be a positive integer, got 1.5',
    });
  });
});
