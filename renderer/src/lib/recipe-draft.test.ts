import { describe, expect, it } from 'vitest';
import { recipeDraft } from './recipe-draft';

describe('recipeDraft', () => {
  it('sends only the chosen recipe\'s options, so a hidden wrong blur σ cannot block Start', () => {
    const form = { batchSize: 8, domainRecipe: 'mae', blurSigma: 20, featureTargets: ['ndbi'] };
    expect(recipeDraft(form, '')).toEqual({ batchSize: 8, domainRecipe: 'mae' });
    expect(recipeDraft({ ...form, domainRecipe: 'deblur' }, '')).toEqual({ batchSize: 8, domainRecipe: 'deblur', blurSigma: 20 });
    expect(recipeDraft({ ...form, domainRecipe: 'fgmae' }, ' /w.pth ')).toEqual({ batchSize: 8, domainRecipe: 'fgmae', featureTargets: ['ndbi'], init: '/w.pth' });
  });
});
