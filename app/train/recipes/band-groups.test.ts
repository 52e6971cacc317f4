import { describe, expect, it } from 'vitest';
import { presetBandGroups, resolveBandGroups, sentinel2Band } from './band-groups';
import { domainRecipeChoices, planDomainRecipe } from './choices';
import { describeDomainRecipe, validateDomainRecipe } from './domain-recipes';
import { DEFAULT_MAE_CONFIG } from '../../mae/config';

const S2_NAMED = [
  'B01',
  'B02 (blue)',
  'B03',
  'B04 red',
  'B05',
  'B06',
  'B07',
  'B08 NIR',
  'B8A',
  'B09',
  'B10',
  'B11 SWIR1',
  'B12',
];
const UNSCALE = { scale: [], shift: [] };

describe('SatMAE band groups', () => {
  it('reads Sentinel-2 band names in their common spellings', () => {
    expect(['B02', 'b8a', 'B4 red', 'B11 SWIR1', 'B8A (865 nm)', 'B12'].map(sentinel2Band)).toEqual([
      'B2',
      'B8A',
      'B4',
      'B11',
      'B8A',
      'B12',
    ]);
    expect(['Blue', 'band 3', 'B13', 'B2x', null].map(sentinel2Band)).toEqual([null, null, null, null, null]);
  });

  it("presets the paper's Sentinel-2 groups from band names, dropping B1, B9 and B10", () => {
    const preset = presetBandGroups(S2_NAMED);
    expect(preset.groups).toEqual([
      [1, 2, 3, 7],
      [4, 5, 6, 8],
      [11, 12],
    ]);
    expect(preset.names[2]).toEqual(['B11 SWIR1', 'B12']);
    expect(preset.source).toBe('Sentinel-2 groups of SatMAE, found by band name');
    // Band order does not matter: groups follow the names.
    expect(presetBandGroups(['B8', 'B4', 'B3', 'B2', 'B11', 'B12']).groups).toEqual([
      [3, 2, 1, 0],
      [4, 5],
    ]);
  });

  it('presets by channel count when the files name no bands', () => {
    expect(presetBandGroups(Array(13).fill(null)).groups).toEqual([
      [1, 2, 3, 7],
      [4, 5, 6, 8],
      [11, 12],
    ]); // L1C
    expect(presetBandGroups(Array(12).fill(null)).groups).toEqual([
      [1, 2, 3, 7],
      [4, 5, 6, 8],
      [10, 11],
    ]); // L2A, no B10
    expect(presetBandGroups(Array(10).fill(null)).groups).toEqual([
      [0, 1, 2, 6],
      [3, 4, 5, 7],
      [8, 9],
    ]); // SatMAE's own 10 bands
    expect(presetBandGroups(Array(4).fill(null))).toMatchObject({
      groups: [[0, 1, 2], [3]],
      names: [['band 1', 'band 2', 'band 3'], ['band 4']],
    });
    expect(presetBandGroups(Array(6).fill(null)).groups).toEqual([[0, 1, 2], [3], [4, 5]]);
    expect(presetBandGroups([null, null]).groups).toEqual([[0], [1]]);
  });

  it('resolves groups given by index or name, and names the group and value that cannot work', () => {
    expect(resolveBandGroups([['B02 (blue)', 'B3', 3], ['B8A']], S2_NAMED).groups).toEqual([[1, 2, 3], [8]]);
    // What the preset shows for unnamed bands resolves back to it.
    expect(resolveBandGroups(presetBandGroups(Array(12).fill(null)).names, Array(12).fill(null)).groups).toEqual([
      [1, 2, 3, 7],
      [4, 5, 6, 8],
      [10, 11],
    ]);
    expect(resolveBandGroups(presetBandGroups(Array(5).fill(null)).names, Array(5).fill(null)).groups).toEqual([
      [0, 1, 2],
      [3],
      [4],
    ]);
    expect(() => resolveBandGroups([[0, 13]], S2_NAMED)).toThrow(
      'pretrain.bandGroups[0] must hold band indices 0..12, got 13',
    );
    expect(() => resolveBandGroups([[1], ['B13']], S2_NAMED)).toThrow(
      'pretrain.bandGroups[1] names no band of these images: "B13"',
    );
    expect(() => resolveBandGroups([[1, 2], ['B2']], S2_NAMED)).toThrow(
      'pretrain.bandGroups[1] names "B2" (band 1) already in group 0',
    );
    expect(() => resolveBandGroups([[1], []], S2_NAMED)).toThrow(
      'pretrain.bandGroups[1] must name at least one band, got []',
    );
    const model = { ...DEFAULT_MAE_CONFIG, inChans: 4 };
    expect(() =>
      validateDomainRecipe(
        {
          name: 'satmae',
          groups: [
            [0, 1],
            [1, 2],
          ],
          spatialMask: false,
        },
        model,
      ),
    ).toThrow('train.bandGroups[1] names band 1 already in group 0');
  });

  it('plans the preset unless groups are given, and says so in words', () => {
    const planned = planDomainRecipe({ domainRecipe: 'satmae' }, S2_NAMED, UNSCALE);
    expect(planned).toEqual({
      name: 'satmae',
      groups: [
        [1, 2, 3, 7],
        [4, 5, 6, 8],
        [11, 12],
      ],
      groupNames: expect.any(Array),
      spatialMask: false,
    });
    const given = planDomainRecipe(
      { domainRecipe: 'satmae', bandGroups: [[0, 1], ['B04 red']], spatialMask: true },
      S2_NAMED,
      UNSCALE,
    );
    expect(describeDomainRecipe(given)).toBe(
      '2 band groups (B01, B02 (blue)) (B04 red), each its own tokens and prediction head; masks shared by all groups',
    );
  });

  it('is suggested for remote-sensing images of 10 or more bands, with one sentence why', () => {
    const choices = domainRecipeChoices({
      domain: 'remote-sensing',
      channels: 13,
      bandNames: S2_NAMED,
      modalities: [],
    });
    const satmae = choices.find((choice) => choice.name === 'satmae')!;
    expect(choices.filter((choice) => choice.suggested).map((choice) => choice.name)).toEqual(['satmae']);
    expect(satmae.citation).toMatch(/^Cong et al\. 2022, "SatMAE/);
    expect(satmae.why).toBe(
      'These 13-band images have bands of different ground resolutions and physics; SatMAE gives each ' +
        'band group its own tokens and masks them apart, which Cong et al. found better than one token over all bands.',
    );
    expect(satmae.why.replace('et al.', 'et al').split('. ')).toHaveLength(1); // one sentence
    expect(satmae.options).toMatchObject({
      bandGroups: [
        [1, 2, 3, 7],
        [4, 5, 6, 8],
        [11, 12],
      ],
      spatialMask: false,
    });
    // Four named bands stay with FG-MAE; SatMAE is offered, with its cost.
    const four = domainRecipeChoices({
      domain: 'remote-sensing',
      channels: 4,
      bandNames: ['B2', 'B3', 'B4', 'B8'],
      modalities: [],
    });
    expect(four.find((choice) => choice.suggested)!.name).toBe('fgmae');
    expect(four.find((choice) => choice.name === 'satmae')!.why).toMatch(
      /^Made for satellite images with 10 or more bands/,
    );
    // Many channels outside remote sensing are not SatMAE's: 12-channel microscopy is CA-MAE's.
    const stains = domainRecipeChoices({
      domain: 'microscopy',
      channels: 12,
      bandNames: Array(12).fill(null),
      modalities: [],
    });
    expect(stains.find((choice) => choice.suggested)!.name).toBe('camae');
    expect(stains.find((choice) => choice.name === 'satmae')!.why).toMatch(
      /this project is not marked remote sensing\.$/,
    );
  });
});
