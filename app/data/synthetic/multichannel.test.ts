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

  it('cell-painting: treatments differ in the Mito signal of the same cells, not only in its arrangement', () => {
    // With equal Mito totals every encoder at the bench's budget probed at chance; the means must differ.
    const sample = MULTICHANNEL_SAMPLES['cell-painting'];
    const mito = sample.labelBands[0]!;
    const meanMito = (label: string) => {
      let sum = 0;
      for (const index of [0, 1, 2, 3, 4, 5]) {
        const pixels = sample.draw(label, new Random(imageSeed(7, index))).toUint16(sample.scale);
        for (let offset = mito; offset < pixels.length; offset += sample.bandNames.length) sum += pixels[offset]!;
      }
      return sum;
    };
    const [control, fragmented, perinuclear] = ['control', 'fragmented', 'perinuclear'].map(meanMito);
    expect(fragmented!).toBeLessThan(control! * 0.9);
    expect(perinuclear!).toBeGreaterThan(control! * 1.1);
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
