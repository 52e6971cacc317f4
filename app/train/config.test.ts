import { describe, expect, it } from 'vitest';
import { peakLearningRate } from './schedule';
import {
  DEFAULT_BLR,
  DEFAULT_TRAIN_CONFIG,
  describeRecipeLr,
  recipePeakLr,
  storedTrainConfig,
  validateTrainConfig,
} from './config';

describe('train config', () => {
  it('defaults to the floor rule, which gives batch 8 a peak lr of 3e-4', () => {
    const config = validateTrainConfig({});
    expect(config.lrRule).toBe('floor');
    expect(config.blr).toBe(1.5e-4);
    expect(peakLearningRate(config.lrRule, config.blr, config.batchSize)).toBe(3e-4);
  });

  it('gives a rule chosen without a base lr that rule’s own default', () => {
    expect(validateTrainConfig({ lrRule: 'fixed' }).blr).toBe(DEFAULT_BLR.fixed);
    expect(validateTrainConfig({ lrRule: 'sqrt' }).blr).toBe(DEFAULT_BLR.sqrt);
    expect(validateTrainConfig({ lrRule: 'fixed', blr: 3e-3 }).blr).toBe(3e-3);
  });

  it('refuses an unknown rule, naming the field', () => {
    expect(() => validateTrainConfig({ lrRule: 'cubic' as never })).toThrow(
      /train\.lrRule must be one of linear, sqrt, fixed, floor, got "cubic"/,
    );
  });

  it('reads a recipe stored before lr rules as the linear rule it was trained with', () => {
    const { lrRule: _, ...old } = { ...DEFAULT_TRAIN_CONFIG, blr: 1e-2 };
    expect(storedTrainConfig(old as typeof DEFAULT_TRAIN_CONFIG)).toMatchObject({ lrRule: 'linear', blr: 1e-2 });
    expect(storedTrainConfig({ ...DEFAULT_TRAIN_CONFIG, lrRule: 'sqrt' }).lrRule).toBe('sqrt');
  });

  it('keeps the peak lr a run was planned with, whatever the rule gives today', () => {
    const planned = { ...DEFAULT_TRAIN_CONFIG, peakLr: 1e-3 }; // planned when the floor was 1e-3
    expect(recipePeakLr(planned)).toBe(1e-3);
    expect(describeRecipeLr(planned)).toBe('lr 1e-3 (rule: floor, max(blr × batch / 256, 3e-4), blr 1.5e-4, batch 8)');
    expect(recipePeakLr(DEFAULT_TRAIN_CONFIG)).toBe(3e-4);
    expect(() => validateTrainConfig({ peakLr: Number.NaN })).toThrow(/train\.peakLr must be a finite number/);
  });
});
