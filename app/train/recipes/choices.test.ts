import { describe, expect, it } from 'vitest';
import { domainRecipeChoices, planDomainRecipe } from './choices';
import { findBands } from './indices';
import { detectSeries } from '../../data/series';

const suggested = (images: Parameters<typeof domainRecipeChoices>[0]) =>
  domainRecipeChoices(images).find((choice) => choice.suggested)!;

describe('domainRecipeChoices', () => {
  it('suggests FG-MAE on HOG for unnamed SAR bands, and says indices need named bands', () => {
    const choice = suggested({ domain: 'remote-sensing', channels: 2, bandNames: [null, null], modalities: [] });
    expect(choice.name).toBe('fgmae');
    expect(choice.options!.featureTargets).toEqual(['hog']);
    expect(choice.why).toBe(
      'For 2-band remote-sensing images (SAR included) FG-MAE regresses HOG, which speckle and noise disturb ' +
        'less than pixels (Wang et al.); spectral indices need bands ' +
        'named red, nir, green or swir, and these files name none.',
    );
  });

  it('suggests the deblurring MAE for grey ultrasound, and only offers it for other grey medical scans', () => {
    expect(suggested({ domain: 'medical', channels: 1, bandNames: [null], modalities: ['US'] }).name).toBe('deblur');
    // Ultrasound stored as RGB, as many scanners write it: still ultrasound.
    expect(
      suggested({ domain: 'general', channels: 3, bandNames: [null, null, null], modalities: ['US', 'OT'] }).name,
    ).toBe('deblur');
    const ct = domainRecipeChoices({ domain: 'medical', channels: 1, bandNames: [null], modalities: ['CT'] });
    expect(ct.find((choice) => choice.suggested)!.name).toBe('mae');
    expect(ct.find((choice) => choice.name === 'deblur')!.why).toMatch(/not marked as ultrasound\.$/);
  });

  it("keeps the paper's MAE for RGB photographs and 3-channel microscopy", () => {
    expect(suggested({ domain: 'general', channels: 3, bandNames: [null, null, null], modalities: [] }).name).toBe(
      'mae',
    );
    const rgbMicroscopy = domainRecipeChoices({
      domain: 'microscopy',
      channels: 3,
      bandNames: [null, null, null],
      modalities: [],
    });
    expect(rgbMicroscopy.find((choice) => choice.suggested)!.name).toBe('mae');
    expect(rgbMicroscopy.find((choice) => choice.name === 'camae')!.why).toBe(
      'Made for multi-stain fluorescence microscopy (4 channels or more, like 5-channel Cell Painting); ' +
        'these images have 3.',
    );
  });

  it('suggests CA-MAE for 4-or-more-channel microscopy (Cell Painting), in one sentence citing Kraus et al.', () => {
    const choice = suggested({
      domain: 'microscopy',
      channels: 5,
      bandNames: ['DAPI', 'GFP', 'RFP', 'Cy5', 'BF'],
      modalities: [],
    });
    expect(choice.name).toBe('camae');
    expect(choice.label).toBe('CA-MAE');
    expect(choice.citation).toMatch(
      /^Kraus et al\. 2024, "Masked Autoencoders for Microscopy are Scalable Learners of Cellular Biology"/,
    );
    expect(choice.why).toBe(
      'These 5-channel microscopy images have one stain per channel: CA-MAE tokenises each channel on its own ' +
        '(Kraus et al.), so the encoder learns each stain and later embeds plates with 3 or 6 channels too.',
    );
    expect(choice.why.split('. ').length).toBe(1);
    expect(
      suggested({ domain: 'microscopy', channels: 4, bandNames: [null, null, null, null], modalities: [] }).name,
    ).toBe('camae');
    // Multispectral remote sensing stays with FG-MAE however many bands it has.
    expect(
      suggested({ domain: 'remote-sensing', channels: 6, bandNames: Array(6).fill(null), modalities: [] }).name,
    ).toBe('fgmae');
    expect(
      planDomainRecipe({ domainRecipe: 'camae' }, [null, null, null, null, null], { scale: [], shift: [] }),
    ).toEqual({ name: 'camae', fourierLossWeight: 0.01 });
  });

  it('suggests SatMAE for a Sentinel-2 channel plan in a project not marked remote sensing, and says why', () => {
    const l1c = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B9', 'B10', 'B11', 'B12'];
    const named = suggested({ domain: 'general', channels: 13, bandNames: l1c, modalities: [] });
    expect(named.name).toBe('satmae');
    expect(named.options!.bandGroups).toEqual([
      [1, 2, 3, 7],
      [4, 5, 6, 8],
      [11, 12],
    ]);
    expect(named.why).toMatch(/\(the bands are named as Sentinel-2's, though the project is marked general\)\.$/);
    expect(named.why.replace('et al.', 'et al').split(/\.\s/)).toHaveLength(1);
    // Unnamed: 13 bands are taken as L1C's order, and the sentence says so.
    const unnamed = suggested({ domain: 'general', channels: 13, bandNames: Array(13).fill(null), modalities: [] });
    expect(unnamed.name).toBe('satmae');
    expect(unnamed.why).toMatch(/\(13 unnamed bands are taken as Sentinel-2's, though the project is marked general\)/);
    // A 13-channel microscopy plate without band names stays with CA-MAE; named Sentinel-2 bands go to SatMAE anywhere.
    const plate = { domain: 'microscopy' as const, channels: 13, bandNames: Array(13).fill(null), modalities: [] };
    expect(suggested(plate).name).toBe('camae');
    expect(suggested({ ...plate, bandNames: l1c }).name).toBe('satmae');
    // Too few named Sentinel-2 bands to be a Sentinel-2 plan: not SatMAE.
    const rgbn = ['B2', 'B3', 'B4', ...Array(10).fill(null)];
    expect(suggested({ domain: 'general', channels: 13, bandNames: rgbn, modalities: [] }).name).not.toBe('satmae');
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
    expect(() =>
      planDomainRecipe({ domainRecipe: 'fgmae', featureTargets: ['ndvi', 'ndbi'] }, ['red', null], {
        scale: [1, 1],
        shift: [0, 0],
      }),
    ).toThrow(
      'pretrain.featureTargets: NDVI needs bands named nir and red ' +
        'in the channel plan; missing: nir (the bands are named "red"); ' +
        'NDBI needs bands named swir and nir in the channel plan; missing: swir, nir (the bands are named "red")',
    );
  });
});

describe('SatMAE temporal as offered', () => {
  const images = {
    domain: 'remote-sensing' as const,
    channels: 4,
    bandNames: [null, null, null, null],
    modalities: [] as string[],
  };

  it('is not offered without series, and says why naming an image', () => {
    const series = detectSeries([{ id: 1, path: '/tiles/a.tif' }]);
    const choice = domainRecipeChoices({ ...images, series }).find(
      (candidate) => candidate.name === 'satmae-temporal',
    )!;
    expect(choice.available).toBe(false);
    expect(choice.suggested).toBe(false);
    expect(choice.why).toMatch(/^Needs image series: one folder per place/);
    expect(choice.why).toContain('none here (/tiles/a.tif: no date in the file name');
  });

  it('is offered with the places, and plans T from the user with the first year of the places used', () => {
    const series = detectSeries([
      { id: 1, path: '/fields/north/2019-05-01.tif' },
      { id: 2, path: '/fields/north/2020-05-01.tif' },
      { id: 3, path: '/fields/north/2020-08-01.tif' },
      { id: 4, path: '/fields/south/2017-05-01.tif' },
      { id: 5, path: '/fields/south/2018-05-01.tif' },
    ]);
    const choice = domainRecipeChoices({ ...images, series }).find(
      (candidate) => candidate.name === 'satmae-temporal',
    )!;
    expect(choice.available).toBe(true);
    expect(choice.why).toContain('2 places with 2–3 dates each');
    expect(choice.why).toContain('1 place has fewer than 3 dates, left out at 3');
    const unscale = { scale: [1, 1, 1, 1], shift: [0, 0, 0, 0] };
    const plan = (dates: number) =>
      planDomainRecipe({ domainRecipe: 'satmae-temporal', dates }, images.bandNames, unscale, () => series);
    // At T = 3 the south place (2 dates) is left out, so the years count from the north's 2019.
    expect(plan(3)).toEqual({
      name: 'satmae-temporal',
      frames: 3,
      sameMask: false,
      baseYear: 2019,
      places: { used: 1, leftOut: ['south'] },
    });
    expect(plan(2)).toMatchObject({ baseYear: 2017, places: { used: 2, leftOut: [] } });
  });
});
