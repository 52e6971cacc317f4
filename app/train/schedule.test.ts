import { describe, expect, it } from 'vitest';
import {
  describeLearningRate,
  formatLearningRate,
  learningRateAt,
  LR_FLOOR,
  peakLearningRate,
  scaledLearningRate,
} from './schedule';

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

describe('learning-rate rules', () => {
  it('gives batch 8 a usable lr with the floor, and the paper its lr at batch 4096', () => {
    expect(peakLearningRate('linear', 1.5e-4, 8)).toBeCloseTo(4.6875e-6, 15); // the paper's rule at a desktop batch
    expect(peakLearningRate('floor', 1.5e-4, 8)).toBe(LR_FLOOR);
    expect(peakLearningRate('floor', 1.5e-4, 4096)).toBeCloseTo(2.4e-3, 12); // above the floor: the paper's lr
  });

  it('scales by the square root, or not at all', () => {
    expect(peakLearningRate('sqrt', 6e-4, 4096)).toBeCloseTo(2.4e-3, 12);
    expect(peakLearningRate('sqrt', 6e-4, 64)).toBeCloseTo(3e-4, 12);
    expect(peakLearningRate('fixed', 1e-3, 8)).toBe(1e-3);
    expect(peakLearningRate('fixed', 1e-3, 4096)).toBe(1e-3);
  });

  it('says which rule gave the lr', () => {
    expect(describeLearningRate('sqrt', 6e-4, 64)).toBe(
      'lr 3e-4 (rule: sqrt, blr × √(batch / 256), blr 6e-4, batch 64)',
    );
    expect(describeLearningRate('floor', 1.5e-4, 8)).toBe(
      'lr 3e-4 (rule: floor, max(blr × batch / 256, 3e-4), blr 1.5e-4, batch 8)',
    );
    expect(formatLearningRate(0.00123)).toBe('1.23e-3');
    expect(formatLearningRate(4.6875e-6)).toBe('4.69e-6');
  });
});
