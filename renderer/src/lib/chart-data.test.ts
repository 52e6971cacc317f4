import { describe, expect, it } from 'vitest';
import { alignSeries, logAxisRange, logAxisTicks } from './chart-data';

describe('alignSeries', () => {
  it('puts per-step train loss and per-epoch val loss on one axis, null where a line has no point', () => {
    const train = { steps: [1, 2, 3, 4], values: [4, 3, 2, 1] };
    const val = { steps: [2, 4], values: [3.5, 1.5] };
    expect(alignSeries([train, val])).toEqual({
      x: [1, 2, 3, 4],
      lines: [
        [4, 3, 2, 1],
        [null, 3.5, null, 1.5],
      ],
    });
  });

  it('joins runs of different lengths', () => {
    expect(
      alignSeries([
        { steps: [1, 2], values: [1, 2] },
        { steps: [2, 5], values: [7, 8] },
      ]),
    ).toEqual({
      x: [1, 2, 5],
      lines: [
        [1, 2, null],
        [null, 7, 8],
      ],
    });
  });
});

describe('log loss axis', () => {
  it('spans a loss between 1.1 and 1.9 with ticks inside it, rising by a constant factor', () => {
    const [min, max] = logAxisRange(1.1, 1.9);
    expect(min).toBeGreaterThan(1);
    expect(max).toBeLessThan(2.1);
    const ticks = logAxisTicks(min, max);
    expect(ticks).toHaveLength(5);
    expect(ticks.every((tick) => tick > min && tick < max)).toBe(true);
    const ratios = ticks.slice(1).map((tick, i) => tick / ticks[i]!);
    for (const ratio of ratios) expect(ratio).toBeCloseTo(ratios[0]!, 1); // equal factors, up to the 3-digit rounding
  });

  it('spans decades when the loss falls by orders of magnitude', () => {
    const ticks = logAxisTicks(...logAxisRange(0.01, 10));
    expect(ticks[0]).toBeLessThan(0.05);
    expect(ticks[4]).toBeGreaterThan(2);
  });
});
