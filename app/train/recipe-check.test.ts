/**
 * Field errors in plain words: a draft through the contract's schema, then bad recipes through
 * the engine's own validator (`modelConfig` → `validateMaeConfig`, `validateTrainConfig`), whose
 * messages are reworded for the field. No message may show an internal name.
 */
import { describe, expect, it } from 'vitest';
import { StudioError, type Recipe } from '../contract';
import { validateTrainConfig } from './config';
import { modelConfig } from './pretrain-plan';
import { gigabytes, memoryError, parseDraft, plainEngineError } from './recipe-check';

const INTERNAL = /\b(?:mae|train|pretrain)\.|imgSize|patchSize|batchSize|decoderEmbedDim|numHeads/;

/** The engine's own error for a recipe, as `buildPretrainPlan` raises it. */
function engineError(recipe: Recipe): string {
  try {
    const model = modelConfig(recipe, 1);
    validateTrainConfig({ model, ...(recipe.maskRatio !== undefined && { maskRatio: recipe.maskRatio }) });
  } catch (error) {
    return error instanceof StudioError || error instanceof Error ? error.message : String(error);
  }
  throw new Error(`the engine accepted ${JSON.stringify(recipe)}`);
}

describe('parseDraft', () => {
  it('names each bad field in its own words: batch 0, negative epochs, depth 1000, empty image size', () => {
    const { errors, recipe } = parseDraft({
      batchSize: 0,
      epochs: -3,
      depth: 1000,
      imgSize: null,
      maskRatio: 0.75,
      seed: 2,
    });
    expect(errors).toEqual([
      { field: 'batchSize', message: 'Batch size must be a whole number of at least 1' },
      { field: 'epochs', message: 'Epochs must be a whole number of at least 1' },
      { field: 'depth', message: 'Encoder blocks can be at most 64' },
      { field: 'imgSize', message: 'Image size is empty: enter a whole number' },
    ]);
    // The fields that pass are kept, so the rest of the recipe can still be checked.
    expect(recipe).toEqual({ maskRatio: 0.75, seed: 2 });
  });

  it('refuses fractions, text and unknown choices', () => {
    const { errors } = parseDraft({ batchSize: 2.5, blr: 'fast', backend: 'tpu', preset: 'vit-huge' });
    expect(errors.map((error) => error.message)).toEqual([
      'Batch size must be a whole number of at least 1',
      'Base learning rate must be a number',
      'Backend must be one of auto, tfjs-node-gpu, webgpu, tfjs-node, native, wasm, cpu',
      'Encoder must be one of vit-tiny, vit-small, vit-base',
    ]);
  });

  it('passes a whole recipe through unchanged', () => {
    const recipe: Recipe = {
      imgSize: 64,
      patchSize: 8,
      depth: 2,
      decoder: '128x2',
      batchSize: 4,
      epochs: 3,
      maskRatio: 0.75,
      blr: 1.5e-4,
      seed: 0,
      backend: 'cpu',
    };
    expect(parseDraft(recipe)).toEqual({ recipe, errors: [] });
  });
});

describe('plainEngineError', () => {
  it('says which image sizes the patch size divides', () => {
    expect(plainEngineError(engineError({ imgSize: 100, patchSize: 16 }))).toEqual({
      field: 'imgSize',
      message: 'Image size (100) must be divisible by the patch size (16): try 96 or 112',
    });
  });

  it('explains decoder widths its attention heads do not divide, and a decoder that is not width × blocks', () => {
    const heads = plainEngineError(engineError({ imgSize: 64, patchSize: 8, decoder: '100x2' }));
    expect(heads).toEqual({
      field: 'decoder',
      message: 'Decoder width (100) must be divisible by its 3 attention heads (one per 32 channels): try 96 or 128',
    });
    expect(plainEngineError(engineError({ decoder: 'big' }))).toEqual({
      field: 'decoder',
      message: 'Decoder must be width × blocks, like 512x8 or 128x2',
    });
    expect(plainEngineError(engineError({ decoder: '0x2' })).field).toBe('decoder');
  });

  it('rewords the mask ratio rule with its value', () => {
    expect(plainEngineError(engineError({ maskRatio: 1.2 }))).toEqual({
      field: 'maskRatio',
      message: 'Mask ratio must be between 0 and 1, not including either (the paper uses 0.75); got 1.2',
    });
  });

  it('never shows an internal name, whatever the engine raises', () => {
    const recipes: Recipe[] = [
      { imgSize: 100, patchSize: 16 },
      { decoder: '100x2' },
      { decoder: '30x1' },
      { decoder: 'x' },
      { maskRatio: 0 },
      { maskRatio: 1.2 },
    ];
    for (const recipe of recipes) {
      const { message } = plainEngineError(engineError(recipe));
      expect(message, JSON.stringify(recipe)).not.toMatch(INTERNAL);
    }
    // Messages without their own wording still lose their internal names.
    expect(plainEngineError('train.warmupSteps must be a non-negative integer, got -1')).toEqual({
      field: 'warmupSteps',
      message: 'Warm-up steps must be a whole number of at least 0, got -1',
    });
    expect(plainEngineError('train.blr must be a finite number ≥ 0, got -1')).toEqual({
      field: 'blr',
      message: 'Base learning rate must be 0 or more, got -1',
    });
  });
});

describe('memoryError', () => {
  it('says what the batch needs and what this machine can spare', () => {
    const { field, message } = memoryError(64, 14e9, { totalBytes: 11.4e9, share: 0.7 });
    expect(field).toBe('batchSize');
    expect(message).toMatch(/^Batch size 64 needs about 14 GB per step; this machine can spare 8 GB /);
    expect(message).toMatch(/ 8 GB \(70% of its 11.4 GB\): lower the batch size/);
    expect(gigabytes(0.75e9)).toBe('0.75 GB');
    expect(gigabytes(15.6e12)).toBe('15.6 TB');
  });
});
