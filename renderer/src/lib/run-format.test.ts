import { describe, expect, it } from 'vitest';
import type { RunRecipe } from '$contract';
import { describeModel, lossTargetText } from './run-format';

const recipe = {
  embedDim: 192,
  depth: 12,
  imgSize: 224,
  patchSize: 16,
  decoderEmbedDim: 512,
  decoderDepth: 8,
} as RunRecipe;

describe('describeModel', () => {
  it('names a 3-D MAE run by its crop and cuboid patch (slices×rows×columns)', () => {
    const volume3d = {
      crop: [16, 64, 64],
      patch: [4, 16, 16],
      resample: 'none',
      why: '',
      trainVolumes: 4,
      valVolumes: 1,
    };
    expect(describeModel({ ...recipe, volume3d } as RunRecipe)).toBe(
      '3-D MAE · ViT 192d×12 · 16×64×64 / 4×16×16 · dec 512×8',
    );
  });
  it("names a domain recipe before the model in the history; the paper's MAE (and older runs) as before", () => {
    expect(describeModel(recipe)).toBe('ViT 192d×12 · 224 px / 16 · dec 512×8');
    expect(
      describeModel({
        ...recipe,
        domainRecipe: { name: 'mae', label: 'MAE', details: '', citation: '', reconstructs: true },
      }),
    ).toBe('ViT 192d×12 · 224 px / 16 · dec 512×8');
    expect(
      describeModel({
        ...recipe,
        domainRecipe: { name: 'fgmae', label: 'FG-MAE', details: '', citation: '', reconstructs: false },
      }),
    ).toBe('FG-MAE · ViT 192d×12 · 224 px / 16 · dec 512×8');
  });
});

describe('lossTargetText', () => {
  it("says what the loss compared: pixels, sharp pixels when deblurring, or FG-MAE's targets", () => {
    const summary = (name: 'mae' | 'deblur' | 'fgmae') => ({
      name,
      label: '',
      details: '',
      citation: '',
      reconstructs: true,
    });
    expect(lossTargetText({ ...recipe, normPixLoss: true })).toBe('normalised pixels');
    expect(lossTargetText({ ...recipe, normPixLoss: false, domainRecipe: summary('deblur') })).toBe('sharp pixels');
    expect(lossTargetText({ ...recipe, normPixLoss: true, domainRecipe: summary('fgmae') })).toBe(
      'targets normalised per patch',
    );
    expect(lossTargetText({ ...recipe, normPixLoss: true, domainRecipe: { ...summary('mae'), name: 'hpm' } })).toBe(
      "normalised pixels, plus the loss predictor's ranking term",
    );
  });

  it("says CA-MAE compares each channel's patches, and whether its Fourier term is on", () => {
    const camae = (details: string) => ({
      name: 'camae' as const,
      label: 'CA-MAE',
      details,
      citation: '',
      reconstructs: true,
    });
    expect(
      lossTargetText({
        ...recipe,
        normPixLoss: true,
        domainRecipe: camae('… regressed as pixels plus 0.01 × the L1 distance of their Fourier magnitudes'),
      }),
    ).toBe('normalised patches of each channel, plus the Fourier term');
    expect(lossTargetText({ ...recipe, normPixLoss: false, domainRecipe: camae('… regressed as pixels') })).toBe(
      'patches of each channel',
    );
  });

  it("says SatMAE compares each band group's patches (its heads, one per group)", () => {
    const satmae = { name: 'satmae' as const, label: 'SatMAE', details: '', citation: '', reconstructs: false };
    expect(lossTargetText({ ...recipe, normPixLoss: true, domainRecipe: satmae })).toBe(
      'normalised patches of each band group',
    );
    expect(lossTargetText({ ...recipe, normPixLoss: false, domainRecipe: satmae })).toBe('patches of each band group');
  });
});
