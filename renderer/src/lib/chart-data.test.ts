import { describe, expect, it } from 'vitest';
import { alignSeries } from './chart-data';

describe('alignSeries', () => {
  it('puts per-step train loss and per-epoch val loss on one axis, null where a line has no point', () => {
    const train = { steps: [1, 2, 3, 4], values: [4, 3, 2, 1] };
    const val = { steps: [2, 4], values: [3.5, 1.5] };
    expect(alignSeries([train, val])).toEqual({ x: [1, 2, 3, 4], lines: [[4, 3, 2, 1], [null, 3.5, null, 1.5]] });
  });

  it('joins runs of different lengths', () => {
    expect(alignSeries([{ steps: [1, 2], values: [1, 2] }, { steps: [2, 5], values: [7, 8] }])).toEqual({
      x: [1, 2, 5],
      lines: [[1, 2, null], [null, 7, 8]],
    });
  });
});
