/**
 * The default model sized to the project: small projects of small images get the compact model at
 * their own size, large ones the paper's ViT-Tiny at 224 px, and what the user names is kept.
 */
import { describe, expect, it } from 'vitest';
import type { DatasetPlan } from './dataset-plan';
import { COMPACT_MODEL_BELOW, medianShorterSide, sizeModel, sizingReason } from './model-sizing';
import { projectSizedOptions } from './pretrain-plan';

/** A dataset plan with only what the sizing reads. */
function data(trainImages: number, imageSide: number, samples?: number): DatasetPlan {
  return {
    trainImageIds: Array.from({ length: trainImages }, (_, i) => i),
    valImageIds: [],
    imageSide,
    ...(samples !== undefined && { samples: { train: samples, val: 0 } }),
  } as unknown as DatasetPlan;
}

describe('sizeModel', () => {
  it("gives scikit-learn's digits (1 258 images of 32 px) the compact model at 4 × 4 patches", () => {
    expect(sizeModel({ trainSamples: 1258, imageSide: 32 }, 16)).toEqual({ imgSize: 64, depth: 4, decoder: '128x2' });
  });

  it("rounds the images' side up to whole patches and never past 224 px", () => {
    expect(sizeModel({ trainSamples: 280, imageSide: 96 }, 16).imgSize).toBe(96);
    expect(sizeModel({ trainSamples: 280, imageSide: 100 }, 16).imgSize).toBe(112);
    expect(sizeModel({ trainSamples: 280, imageSide: 512 }, 16).imgSize).toBe(224);
    expect(sizeModel({ trainSamples: 280, imageSide: 512 }, 14).imgSize).toBe(224);
    expect(sizeModel({ trainSamples: 280, imageSide: 512 }, 32).imgSize).toBe(224);
    expect(sizeModel({ trainSamples: 280, imageSide: 512 }, 48).imgSize).toBe(192);
    expect(sizeModel({ trainSamples: 280, imageSide: 20 }, 8).imgSize).toBe(32);
  });

  it("gives a project of 10 000 images or more ViT-Tiny's 12 blocks and the paper's decoder", () => {
    expect(sizeModel({ trainSamples: COMPACT_MODEL_BELOW - 1, imageSide: 512 }, 16).depth).toBe(4);
    expect(sizeModel({ trainSamples: COMPACT_MODEL_BELOW, imageSide: 512 }, 16)).toEqual({
      imgSize: 224,
      depth: 12,
      decoder: '512x8',
    });
  });
});

describe('sizingReason', () => {
  it('names the project, the sizes and why, only for the fields it sized', () => {
    const project = { trainSamples: 1258, imageSide: 32 };
    const sizing = sizeModel(project, 16);
    expect(sizingReason(project, sizing, ['imgSize', 'depth', 'decoder'])).toBe(
      'Sized to this project (1,258 training images of about 32 px): 64 px, 4 encoder blocks, decoder 128×2; ' +
        "the images' own side in whole patches, at most 224 px; below 10,000 images a 4-block encoder with a " +
        "128×2 decoder beat the raw pixels on real digits where ViT-Tiny's 12 blocks and the paper's 512×8 " +
        'decoder lost (bench:finetune).',
    );
    expect(sizingReason(project, sizing, ['imgSize'])).toBe(
      "Sized to this project (1,258 training images of about 32 px): 64 px; the images' own side in whole " +
        'patches, at most 224 px.',
    );
  });
});

describe('medianShorterSide', () => {
  it('takes the median of each image’s shorter side', () => {
    expect(medianShorterSide([])).toBe(0);
    expect(medianShorterSide([{ width: 640, height: 480 }])).toBe(480);
    expect(
      medianShorterSide([
        { width: 32, height: 32 },
        { width: 100, height: 64 },
        { width: 512, height: 512 },
        { width: 90, height: 200 },
      ]),
    ).toBe(77);
  });
});

describe('projectSizedOptions', () => {
  it('fills the model fields a run leaves unset, counting the planes a plan cuts volumes into', () => {
    const sized = projectSizedOptions({ steps: 3 }, data(1258, 32));
    expect(sized.options).toEqual({ steps: 3, imgSize: 64, depth: 4, decoder: '128x2' });
    expect(sized.reason).toMatch(/^Sized to this project \(1,258 training images of about 32 px\)/);
    const planes = projectSizedOptions({}, data(40, 256, 12_000));
    expect(planes.options).toEqual({ imgSize: 224, depth: 12, decoder: '512x8' });
  });

  it("keeps what the user named: a size, an encoder's blocks, a full preset, published weights", () => {
    const named = projectSizedOptions({ imgSize: 128, decoder: '512x8', preset: 'vit-small' }, data(500, 32));
    expect(named.options).toEqual({ imgSize: 128, decoder: '512x8', preset: 'vit-small' });
    expect(named.reason).toBeNull();
    expect(projectSizedOptions({ preset: 'vit-tiny' }, data(500, 32)).options).toEqual({
      preset: 'vit-tiny',
      imgSize: 64,
      decoder: '128x2',
    });
    expect(projectSizedOptions({ preset: 'maeVitTinyPatch16Dec128d2b' }, data(500, 32)).reason).toBeNull();
    expect(projectSizedOptions({ init: '/weights/mae_pretrain_vit_base.pth' }, data(500, 32))).toEqual({
      options: { init: '/weights/mae_pretrain_vit_base.pth' },
      reason: null,
    });
  });
});
