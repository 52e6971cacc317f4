import { describe, expect, it } from 'vitest';
import { wilsonInterval } from '../train/intervals';
import { finetuneMarkdown, type FinetuneScore } from './finetune-card';

const finetune: FinetuneScore = {
  runId: 5,
  accuracy: 0.9,
  interval: wilsonInterval(108, 120),
  steps: 200,
  valImages: 120,
  randomInitAccuracy: 0.8,
  randomInitInterval: wilsonInterval(96, 120),
  rawPixelsAccuracy: 0.95,
  rawPixelsInterval: wilsonInterval(114, 120),
  startAccuracy: null,
  startInterval: null,
  gain: {
    randomInit: { estimate: 0.1, low: 0.025, high: 0.175 },
    rawPixels: { estimate: -0.05, low: -0.1, high: -0.008 },
    start: null,
  },
  warnings: [
    'Raw pixels score higher than the encoder, −5.0 points (95% CI −10.0 to −0.8): ' +
      'on this data the encoder does not beat the pixels themselves.',
  ],
};

describe('model card fine-tune lines', () => {
  it('put the raw pixels and the random init fine-tuned alike beside the score, with n, gains and warnings', () => {
    const lines = finetuneMarkdown(finetune);
    expect(lines[0]).toBe(
      '- fine-tuned, 200 steps: **90.0% (95% CI 83.3–94.2%, n = 120)**, 120 images — run 5; ' +
        'random init fine-tuned alike 80.0% (95% CI 72.0–86.2%, n = 120); ' +
        'raw pixels, linear 95.0% (95% CI 89.5–97.7%, n = 120)',
    );
    expect(lines[1]).toBe(
      '  - gain over random init +10.0 points (95% CI +2.5 to +17.5); over raw pixels ' +
        '−5.0 points (95% CI −10.0 to −0.8) (paired bootstrap on the same images)',
    );
    expect(lines[2]).toMatch(/^ {2}- ⚠ Raw pixels score higher than the encoder/);
  });

  it('adds the linear-probe start of an LP-FT run and the gain over it', () => {
    const lines = finetuneMarkdown({
      ...finetune,
      startAccuracy: 0.95,
      startInterval: wilsonInterval(114, 120),
      gain: { ...finetune.gain!, start: { estimate: -0.05, low: -0.1, high: -0.008 } },
    });
    expect(lines[0]).toMatch(/; before fine-tuning \(linear probe\) 95\.0% \(95% CI 89\.5–97\.7%, n = 120\)$/);
    expect(lines[1]).toMatch(/; over its linear-probe start −5\.0 points \(95% CI −10\.0 to −0\.8\) \(paired/);
  });

  it('still reads fine-tunes stored before their baselines existed, without inventing any', () => {
    const old: FinetuneScore = {
      ...finetune,
      interval: null,
      randomInitAccuracy: null,
      randomInitInterval: null,
      rawPixelsAccuracy: null,
      rawPixelsInterval: null,
      gain: null,
      warnings: [],
    };
    expect(finetuneMarkdown(old)).toEqual(['- fine-tuned, 200 steps: **90.0%**, 120 images — run 5']);
  });
});
