import { describe, expect, it } from 'vitest';
import { DEFAULT_MAE_CONFIG, MAE_PRESETS, maeConfigFromParts, tokenCount, validateMaeConfig } from './config';

describe('MAE presets', () => {
  it('builds ViT-Tiny/Small/Base with the paper decoder', () => {
    expect(MAE_PRESETS.maeVitTinyPatch16Dec512d8b()).toMatchObject({
      embedDim: 192,
      depth: 12,
      numHeads: 3,
      patchSize: 16,
      decoderEmbedDim: 512,
      decoderDepth: 8,
      decoderNumHeads: 16,
    });
    expect(MAE_PRESETS.maeVitSmallPatch16Dec512d8b()).toMatchObject({ embedDim: 384, numHeads: 6 });
    expect(MAE_PRESETS.maeVitBasePatch14Dec512d8b()).toMatchObject({ embedDim: 768, numHeads: 12, patchSize: 14 });
  });

  it('offers the light 128×2 decoder', () => {
    expect(maeConfigFromParts('vit-tiny', 8, '128x2', { imgSize: 64 })).toMatchObject({
      patchSize: 8,
      decoderEmbedDim: 128,
      decoderDepth: 2,
      imgSize: 64,
    });
  });

  it('rejects an image size not divisible by the patch, naming both', () => {
    expect(() => validateMaeConfig({ ...DEFAULT_MAE_CONFIG, imgSize: 100 })).toThrow(
      'mae.imgSize (100) must be divisible by mae.patchSize (16)',
    );
  });

  it('rejects heads that do not divide the width', () => {
    expect(() => validateMaeConfig({ ...DEFAULT_MAE_CONFIG, numHeads: 5 })).toThrow('divisible by mae.numHeads (5)');
  });

  it('counts the tokens of each layout: L patches, G·L band-group tokens, C·L channel tokens', () => {
    const base = { ...DEFAULT_MAE_CONFIG, imgSize: 64, patchSize: 16, inChans: 5 }; // L = 16
    expect(tokenCount(base)).toBe(16);
    expect(
      tokenCount({
        ...base,
        groupedBands: {
          groups: [
            [0, 1],
            [2, 3],
          ],
          spatialMask: false,
        },
      }),
    ).toBe(32);
    expect(tokenCount({ ...base, channelAgnostic: true })).toBe(80);
  });

  it('refuses grouped bands and channel-agnostic tokens together, naming both', () => {
    const both = {
      ...DEFAULT_MAE_CONFIG,
      inChans: 4,
      channelAgnostic: true,
      groupedBands: {
        groups: [
          [0, 1],
          [2, 3],
        ],
        spatialMask: false,
      },
    };
    expect(() => validateMaeConfig(both)).toThrow('mae.groupedBands and mae.channelAgnostic are two token layouts');
  });
});
