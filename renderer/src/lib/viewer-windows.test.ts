import type { ImageWindow } from '$contract';
import { describe, expect, it } from 'vitest';
import { defaultDisplay, valuesAt, visibleRegion, windowCovers, windowOutputLimit } from './viewer-windows';

/** A window of `width` × `height` values at `step` from (x, y), fields the viewer does not read left plain. */
function windowOf(fields: Partial<ImageWindow> & Pick<ImageWindow, 'x' | 'y' | 'width' | 'height' | 'step'>) {
  return {
    imageId: 1,
    frame: 0,
    frames: 1,
    frameImageId: 1,
    imageWidth: 1000,
    imageHeight: 1000,
    regionWidth: fields.width * fields.step,
    regionHeight: fields.height * fields.step,
    bands: 1,
    sampleType: 'uint16',
    values: '',
    unit: null,
    modality: null,
    bandNames: [],
    windows: [],
    nodata: null,
    ...fields,
  } satisfies ImageWindow;
}

const place = { centerX: 500, centerY: 500, boxWidth: 400, boxHeight: 200, imageWidth: 1000, imageHeight: 1000 };

describe('viewer windows', () => {
  it('reads fewer pixels per call when each pixel is large, within 256² and 2048²', () => {
    expect(windowOutputLimit(1, 16)).toBe(2048 * 2048);
    expect(windowOutputLimit(4, 32)).toBe((8 * 2 ** 20) / 16);
    expect(windowOutputLimit(200, 64)).toBe(256 * 256);
  });

  it('reads the visible region at full resolution once zoomed in, and by powers of two when zoomed out', () => {
    expect(visibleRegion({ ...place, zoom: 2, ratio: 1 }, 2048 * 2048)).toEqual({
      x: 400,
      y: 450,
      width: 200,
      height: 100,
      step: 1,
    });
    // 0.3 screen pixels per image pixel: every 2nd value is still finer than a device pixel, every 4th is not
    expect(visibleRegion({ ...place, zoom: 0.3, ratio: 1 }, 2048 * 2048)?.step).toBe(2);
    // a high-density screen shows twice the device pixels: a step finer
    expect(visibleRegion({ ...place, zoom: 0.3, ratio: 2 }, 2048 * 2048)?.step).toBe(1);
  });

  it('clamps the region to the image and shows nothing when the image is out of view', () => {
    const region = visibleRegion({ ...place, centerX: 0, centerY: 990, zoom: 1, ratio: 1 }, 2048 * 2048);
    expect(region).toEqual({ x: 0, y: 890, width: 200, height: 110, step: 1 });
    expect(visibleRegion({ ...place, centerX: -500, zoom: 1, ratio: 1 }, 2048 * 2048)).toBeNull();
  });

  it('keeps a finer window that holds the whole region, and reads again when the region leaves it', () => {
    const fine = windowOf({ x: 100, y: 100, width: 300, height: 300, step: 1 });
    expect(windowCovers(fine, { x: 150, y: 150, width: 100, height: 100, step: 2 })).toBe(true);
    expect(windowCovers(fine, { x: 350, y: 150, width: 100, height: 100, step: 2 })).toBe(false);
    const coarse = windowOf({ x: 0, y: 0, width: 250, height: 250, step: 4 });
    expect(windowCovers(coarse, { x: 150, y: 150, width: 100, height: 100, step: 2 })).toBe(false);
  });

  it('reads the value under the cursor from the first window holding it, in its bands', () => {
    const fine = { window: windowOf({ x: 10, y: 10, width: 2, height: 1, step: 1, bands: 2 }), values: [1, 2, 3, 4] };
    const base = { window: windowOf({ x: 0, y: 0, width: 2, height: 2, step: 8 }), values: [5, 6, 7, 8] };
    expect(valuesAt([fine, base], 11, 10)).toEqual({ values: [3, 4], step: 1 });
    expect(valuesAt([fine, base], 9, 12)).toEqual({ values: [8], step: 8 });
    expect(valuesAt([null, base], 20, 20)).toBeNull();
  });

  it("opens with the file's own window, else a percentile stretch; three bands as a composite", () => {
    const values = Array.from({ length: 1000 }, (_, i) => i);
    const ct = defaultDisplay(
      windowOf({ x: 0, y: 0, width: 10, height: 100, step: 1, windows: [{ center: 40, width: 400 }] }),
      values,
    );
    expect(ct).toEqual({ mode: 'grey', band: 0, window: { width: 400, level: 40 } });
    const plain = defaultDisplay(windowOf({ x: 0, y: 0, width: 10, height: 100, step: 1 }), values);
    expect(plain.mode).toBe('grey');
    const rgb = defaultDisplay(
      windowOf({ x: 0, y: 0, width: 1, height: 1, step: 1, bands: 3, sampleType: 'uint8' }),
      [1, 2, 3],
    );
    expect(rgb).toEqual({
      mode: 'composite',
      bands: [0, 1, 2],
      ranges: [
        [0, 255],
        [0, 255],
        [0, 255],
      ],
    });
  });
});
