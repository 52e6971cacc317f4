import { describe, expect, it } from 'vitest';
import { downsampleMinMax } from './series';

describe('downsampleMinMax', () => {
  it('keeps short series whole', () => {
    expect(downsampleMinMax([1, 2, 3], [3, 2, 1], 10)).toEqual({ steps: [1, 2, 3], values: [3, 2, 1] });
  });

  it('turns 100k points into at most maxPoints, in step order, keeping a one-step spike', () => {
    const steps = Array.from({ length: 100_000 }, (_, i) => i + 1);
    const values = steps.map((s) => 1 / Math.sqrt(s));
    values[61_234] = 50; // a loss spike a user must see
    const out = downsampleMinMax(steps, values, 2000);
    expect(out.steps.length).toBeLessThanOrEqual(2000);
    expect(out.steps.every((s, i) => i === 0 || s > out.steps[i - 1]!)).toBe(true);
    expect(out.values).toContain(50);
    expect(out.steps[0]).toBe(1);
  });
});
