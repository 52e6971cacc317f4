import { describe, expect, it } from 'vitest';
import { recipeDraft } from './recipe-draft';

describe('recipeDraft', () => {
  it("sends only the chosen recipe's options, so a hidden wrong blur σ cannot block Start", () => {
    const form = { batchSize: 8, domainRecipe: 'mae', blurSigma: 20, featureTargets: ['ndbi'] };
    expect(recipeDraft(form, '')).toEqual({ batchSize: 8, domainRecipe: 'mae' });
    expect(recipeDraft({ ...form, domainRecipe: 'deblur' }, '')).toEqual({
      batchSize: 8,
      domainRecipe: 'deblur',
      blurSigma: 20,
    });
    expect(recipeDraft({ ...form, domainRecipe: 'fgmae' }, ' /w.pth ')).toEqual({
      batchSize: 8,
      domainRecipe: 'fgmae',
      featureTargets: ['ndbi'],
      init: '/w.pth',
    });
  });

  it('sends SatMAE band groups as typed (indices as numbers), or none for the preset', () => {
    const form = { batchSize: 8, domainRecipe: 'satmae' };
    expect(recipeDraft(form, '', { text: 'B2, B3, 3 | B8A;', spatialMask: true })).toEqual({
      batchSize: 8,
      domainRecipe: 'satmae',
      spatialMask: true,
      bandGroups: [['B2', 'B3', 3], ['B8A'], []],
    });
    expect(recipeDraft(form, '', { text: '  ', spatialMask: false })).toEqual({
      batchSize: 8,
      domainRecipe: 'satmae',
      spatialMask: false,
    });
    expect(recipeDraft({ ...form, domainRecipe: 'mae' }, '', { text: '1 | 2', spatialMask: true })).toEqual({
      batchSize: 8,
      domainRecipe: 'mae',
    });
  });
});
