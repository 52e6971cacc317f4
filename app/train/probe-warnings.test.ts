import { describe, expect, it } from 'vitest';
import type { AccuracyGain } from '../contract';
import { FINETUNE_ADVICE, probeWarnings } from './probe-warnings';

const gain = (estimate: number, low: number, high: number): AccuracyGain => ({ estimate, low, high });
const base = {
  classes: ['a', 'b'],
  trainLabels: Array.from({ length: 40 }, (_, i) => i % 2),
  valLabels: Array.from({ length: 40 }, (_, i) => i % 2),
  method: 'linear' as const,
  k: null,
};

describe('probeWarnings: a frozen probe that does not beat the pixels', () => {
  it('points a probe that loses to the pixels at fine-tuning, and says the numbers', () => {
    const warnings = probeWarnings({
      ...base,
      gain: { randomInit: gain(0.05, 0.01, 0.09), rawPixels: gain(-0.06, -0.09, -0.03) },
      canFinetune: true,
    });
    expect(warnings).toEqual([
      'Raw pixels score higher than the encoder, −6.0 points (95% CI −9.0 to −3.0): on this data the encoder ' +
        `does not beat the pixels themselves. ${FINETUNE_ADVICE}`,
    ]);
  });

  it('gives the advice when the gain over the pixels includes 0, not when it is above 0', () => {
    const tie = probeWarnings({ ...base, gain: { rawPixels: gain(0.01, -0.01, 0.03) }, canFinetune: true });
    expect(tie).toHaveLength(1);
    expect(tie[0]).toMatch(/not distinguishable from the pixels themselves on this data\. MAE features/);
    expect(probeWarnings({ ...base, gain: { rawPixels: gain(0.03, 0.01, 0.05) }, canFinetune: true })).toEqual([]);
  });

  it('leaves the advice out where fine-tuning is not offered (a fine-tuned classifier, a 3-D run)', () => {
    const [warning] = probeWarnings({ ...base, gain: { rawPixels: gain(-0.06, -0.09, -0.03) } });
    expect(warning).not.toContain('fine-tune');
  });
});
