import { describe, expect, it } from 'vitest';
import {
  applyWindow,
  bandPercentiles,
  CT_PRESETS,
  renderRgba,
  stepFor,
  windowOfRange,
  windowValues,
} from './window-level';

const base64 = (buffer: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));

describe('window/level', () => {
  it('maps the lung window: −1350 HU and below black, +150 HU and above white, −600 HU mid-grey', () => {
    const lung = CT_PRESETS.find((preset) => preset.name === 'Lung')!;
    expect([
      applyWindow(-2000, lung),
      applyWindow(-1350, lung),
      applyWindow(-600, lung),
      applyWindow(150, lung),
      applyWindow(3000, lung),
    ]).toEqual([0, 0, 128, 255, 255]);
  });

  it('shows brain tissue (20–60 HU) across the whole grey range under the brain window', () => {
    const brain = CT_PRESETS.find((preset) => preset.name === 'Brain')!;
    expect([applyWindow(0, brain), applyWindow(40, brain), applyWindow(80, brain)]).toEqual([0, 128, 255]);
  });

  it('decodes the base64 values the core sends, signed and float included', () => {
    const int16 = new Int16Array([-1024, 0, 3071]);
    const values = windowValues({ values: base64(int16.buffer), sampleType: 'int16' });
    expect([...(values as Int16Array)]).toEqual([-1024, 0, 3071]);
    const float = new Float32Array([0.25, -1.5]);
    expect([...(windowValues({ values: base64(float.buffer), sampleType: 'float32' }) as Float32Array)]).toEqual([
      0.25, -1.5,
    ]);
  });

  it('stretches each band of a composite by its own range and leaves nodata transparent', () => {
    const values = [0, 100, 1000, 10, 200, 2000];
    const rgba = renderRgba(values, 2, 3, {
      mode: 'composite',
      bands: [2, 1, 0],
      ranges: [
        [1000, 2000],
        [100, 200],
        [0, 10],
      ],
    });
    expect([...rgba]).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
    const grey = renderRgba([5, -9999], 2, 1, { mode: 'grey', band: 0, window: windowOfRange([0, 10]) }, -9999);
    expect([...grey]).toEqual([128, 128, 128, 255, 0, 0, 0, 0]);
  });

  it('finds percentiles of one band, skipping nodata', () => {
    const values = Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? i / 2 : -1));
    expect(bandPercentiles(values, 2, 0, 0, 100)).toEqual([0, 999]);
    expect(bandPercentiles([5, 0, 0, 7], 1, 0, 0, 100, 0)).toEqual([5, 7]);
  });

  it('picks the power-of-two step that fits a budget', () => {
    expect(stepFor(2048, 2048, 2048 * 2048)).toBe(1);
    expect(stepFor(2049, 2048, 2048 * 2048)).toBe(2);
    expect(stepFor(100_000, 80_000, 2048 * 2048)).toBe(64);
  });
});
