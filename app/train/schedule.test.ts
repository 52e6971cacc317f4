import { describe, expect, it } from 'vitest';
import { learningRateAt, scaledLearningRate } from './schedule';

describe('learning-rate schedule', () => {
  const schedule = { peakLr: 1e-3, minLr: 1e-5, warmupSteps: 10, totalSteps: 110 };

  it('scales the base lr by effective batch / 256', () => {
    expect(scaledLearningRate(1.5e-4, 4096)).toBeCloseTo(2.4e-3, 12);
    expect(scaledLearningRate(1.5e-4, 8 * 4)).toBeCloseTo(1.875e-5, 12);
  });

  it('warms up linearly from 0', () => {
    expect(learningRateAt(0, schedule)).toBe(0);
    expect(learningRateAt(5, schedule)).toBeCloseTo(5e-4, 12);
  });

  it('peaks at warmup end, is halfway at mid-decay and reaches minLr at the end', () => {
    expect(learningRateAt(10, schedule)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(60, schedule)).toBeCloseTo((1e-3 + 1e-5) / 2, 12);
    expect(learningRateAt(110, schedule)).toBeCloseTo(1e-5, 12);
  });
});
