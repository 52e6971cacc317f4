import { describe, expect, it } from 'vitest';
import { wilsonInterval } from '../train/intervals';
import type { ProbeScore } from './model-card';
import { probeMarkdown } from './model-card-markdown';

const probe: ProbeScore = {
  runId: 3,
  method: 'linear',
  pooling: 'mean',
  k: null,
  labelsPerClass: 20,
  trainImages: 40,
  valImages: 120,
  block: 3,
  blockChosenBy: '3-fold cross-validation within the 40 fitted training images',
  accuracy: 0.8,
  interval: wilsonInterval(96, 120),
  randomInitAccuracy: 0.7,
  randomInitInterval: wilsonInterval(84, 120),
  rawPixelsAccuracy: 0.75,
  rawPixelsInterval: wilsonInterval(90, 120),
  gain: {
    randomInit: { estimate: 0.1, low: 0.025, high: 0.175 },
    rawPixels: { estimate: 0.05, low: -0.033, high: 0.133 },
  },
  warnings: [
    'The gain over raw pixels, +5.0 points (95% CI −3.3 to +13.3), includes ' +
      '0: not distinguishable from the pixels themselves on this data.',
  ],
};

describe('model card probe lines', () => {
  it('give every accuracy its 95% interval and n, the block, both gains and the warnings', () => {
    const lines = probeMarkdown(probe);
    expect(lines[0]).toBe(
      '- linear probe on mean features of block 3 (chosen by 3-fold cross-validation within ' +
        'the 40 fitted training images), fitted on 40 labelled images (≤ 20 per class), ' +
        '120 validation images — run 3: **80.0% (95% CI 72.0–86.2%, n = 120)**; random init ' +
        '70.0% (95% CI 61.3–77.5%, n = 120); raw pixels 75.0% (95% CI 66.6–81.9%, n = 120)',
    );
    expect(lines[1]).toBe(
      '  - gain over random init +10.0 points (95% CI +2.5 to +17.5); over raw ' +
        'pixels +5.0 points (95% CI −3.3 to +13.3) (paired bootstrap on the same images)',
    );
    expect(lines[2]).toMatch(/^ {2}- ⚠ The gain over raw pixels/);
  });

  it('still reads probes stored before intervals existed, without inventing one', () => {
    const old: ProbeScore = {
      ...probe,
      block: null,
      blockChosenBy: null,
      interval: null,
      randomInitInterval: null,
      rawPixelsAccuracy: null,
      rawPixelsInterval: null,
      gain: null,
      warnings: [],
    };
    expect(probeMarkdown(old)).toEqual([
      '- linear probe on mean features, fitted on 40 labelled images ' +
        '(≤ 20 per class), 120 validation images — run 3: **80.0%**; random init 70.0%',
    ]);
  });
});
