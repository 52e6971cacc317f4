import { describe, expect, it } from 'vitest';
import type { SeriesDetection } from '../../data/series';
import { heldOutPlaces, imageTimestamp } from './temporal-data';

/** `counts[k]` dated images in folder /data/place-k. */
function detection(counts: number[]): SeriesDetection {
  const date = { year: 2021, month: 6, day: 1, hour: 0, source: 'name' as const };
  return {
    places: counts.map((count, k) => ({
      folder: `/data/place-${k}`,
      name: `place-${k}`,
      images: Array.from({ length: count }, (_, i) => ({ id: k * 100 + i, path: `/data/place-${k}/${i}.tif`, date })),
    })),
    left: [],
  };
}

describe("places held out whole for a temporal run's validation loss", () => {
  it('holds out a tenth of the places with T dates, at least one from three, two always training', () => {
    expect(heldOutPlaces(detection([3, 3]), 3, 0.1, 1)).toEqual([]); // two places: both train
    expect(heldOutPlaces(detection([3, 3, 3]), 3, 0.1, 1)).toHaveLength(1);
    expect(heldOutPlaces(detection(Array(40).fill(4)), 3, 0.1, 1)).toHaveLength(4);
    expect(heldOutPlaces(detection([3, 3, 3]), 3, 0.9, 1)).toHaveLength(1); // two still train
    expect(heldOutPlaces(detection([3, 3, 3, 3]), 3, 0, 1)).toEqual([]);
    // places with fewer than T dates are not drawn: they do not train either
    expect(heldOutPlaces(detection([2, 2, 3, 3, 3]), 3, 0.2, 1)[0]).toMatch(/place-[234]$/);
  });

  it('draws the same places for the same seed, in any listing order', () => {
    const places = detection(Array(20).fill(3));
    const reversed = { ...places, places: [...places.places].reverse() };
    expect(heldOutPlaces(reversed, 3, 0.1, 7)).toEqual(heldOutPlaces(places, 3, 0.1, 7));
    const seeds = new Set([1, 2, 3, 4, 5].map((seed) => heldOutPlaces(places, 3, 0.1, seed).join()));
    expect(seeds.size).toBeGreaterThan(1);
  });
});

describe("an image's timestamp for probes and embeddings", () => {
  const recipe = { name: 'satmae-temporal' as const, frames: 3, sameMask: false, baseYear: 2019 };

  it('counts years from the run first, months from 0, from the name or the DateTime tag', () => {
    expect(imageTimestamp(recipe, { path: '/a/2021-06-15T10.tif' })).toEqual([2, 5, 10]);
    expect(imageTimestamp(recipe, { path: '/a/scene.tif', dateTime: '2018:12:01 07:00:00' })).toEqual([-1, 11, 7]);
  });

  it('says why an image without a date cannot be read', () => {
    expect(imageTimestamp(recipe, { path: '/a/scene.tif' })).toEqual({
      reason: expect.stringMatching(/^no date in the file name .*: a SatMAE temporal encoder reads each image/),
    });
  });
});
