import { describe, expect, it } from 'vitest';
import { domainRecipeChoices, planDomainRecipe } from './choices';
import { findBands } from './indices';

const suggested = (images: Parameters<typeof domainRecipeChoices>[0]) => domainRecipeChoices(images).find((choice) => choice.suggested)!;

describe('domainRecipeChoices', () => {
  it('suggests FG-MAE on HOG for unnamed SAR bands, and says indices need named bands', () => {
    const choice = suggested({ domain: 'remote-sensing', channels: 2, bandNames: [null, null], modalities: [] });
    expect(choice.name).toBe('fgmae');
    expect(choice.options!.featureTargets).toEqual(['hog']);
    expect(choice.why).toBe('For 2-band remote-sensing images (SAR included) FG-MAE regresses HOG, which speckle and noise disturb ' + 'less than pixels (Wang et al.); spectral indices need bands ' + 'named red, nir, green or swir, and these files name none.');
  });

  it('suggests the deblurring MAE for grey ultrasound, and only offers it for other grey medical scans', () => {
    expect(suggested({ domain: 'medical', channels: 1, bandNames: [null], modalities: ['US'] }).name).toBe('deblur');
    // Ultrasound stored as RGB, as many scanners write it: still ultrasound.
    expect(suggested({ domain: 'general', channels: 3, bandNames: [null, null, null], modalities: ['US', 'OT'] }).name).toBe('deblur');
    const ct = domainRecipeChoices({ domain: 'medical', channels: 1, bandNames: [null], modalities: ['CT'] });
    expect(ct.find((choice) => choice.suggested)!.name).toBe('mae');
    expect(ct.find((choice) => choice.name === 'deblur')!.why).toMatch(/not marked as ultrasound\.$/);
  });

  it('keeps the paper\'s MAE for RGB photographs and for 5-channel microscopy', () => {
    expect(suggested({ domain: 'general', channels: 3, bandNames: [null, null, null], modalities: [] }).name).toBe('mae');
    expect(suggested({ domain: 'microscopy', channels: 5, bandNames: ['DAPI', 'GFP', 'RFP', 'Cy5', 'BF'], modalities: [] }).name).toBe('mae');
  });
});

describe('band names', () => {
  it('finds red, green, nir and swir by word, not red edge or the second SWIR', () => {
    const bands = findBands(['B4 Red', 'B5 Red Edge 1', 'B3 green', 'B8 near infrared', 'B11 SWIR1', 'B12 SWIR2']);
    expect(bands).toEqual({
      red: { channel: 0, name: 'B4 Red' },
      green: { channel: 2, name: 'B3 green' },
      nir: { channel: 3, name: 'B8 near infrared' },
      swir: { channel: 4, name: 'B11 SWIR1' },
    });
    expect(findBands(['B5 red edge', 'NIR']).red).toBeUndefined();
  });

  it('names every index whose bands are missing', () => {
    expect(() => planDomainRecipe({ domainRecipe: 'fgmae', featureTargets: ['ndvi', 'ndbi'] }, ['red', null], { scale: [1, 1], shift: [0, 0] })).toThrow(
      'pretrain.featureTargets: NDVI needs bands named nir and red ' + 'in the channel plan; missing: nir (the bands are named "red"); ' +
        'NDBI needs bands named swir and nir in the channel plan; missing: swir, nir (the bands are named "red")',
    );
  });
});
