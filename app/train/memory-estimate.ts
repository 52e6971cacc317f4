/**
 * How much memory a pretraining recipe needs, before any tensor exists: parameters (weights,
 * gradients and the two AdamW moments) plus the activations a backward pass keeps, per block
 * of the encoder (visible tokens only, the point of MAE) and of the decoder (all tokens).
 * It is an estimate for the new-run dialog ("does batch 64 fit?"); the warm-up then shows the
 * measured tensor and process memory. It leaves out the runtime's own baseline (~200 MB of
 * process memory for Node and TF.js), which matters only for tiny models.
 */
import { tokenCount, tokenLength, type MaeConfig } from '../mae/config';
import { groupedKeepCount } from '../mae/grouped-bands';
import { keepCount } from '../mae/masking';
import type { TrainConfig } from './config';

const FLOAT_BYTES = 4;
/** TF.js keeps every intermediate of the taped forward pass until the gradients are taken. */
const TAPE_OVERHEAD = 1.5;

/** Trainable parameters of an MAE (the reference `MaskedAutoencoderViT`). */
export function parameterCount(model: MaeConfig): number {
  const patchLength = tokenLength(model);
  const block = (width: number) => {
    const hidden = width * model.mlpRatio;
    return (
      2 * 2 * width +
      (width * 3 * width + 3 * width) +
      (width * width + width) +
      (width * hidden + hidden) +
      (hidden * width + width)
    );
  };
  // SatMAE: one patch embedding and one prediction head per band group, over its own bands.
  const groups = model.groupedBands?.groups ?? [null];
  const groupLength = (group: number[] | null) =>
    group ? group.length * model.patchSize * model.patchSize : patchLength;
  const embeddings = groups.reduce((sum, group) => sum + groupLength(group) * model.embedDim + model.embedDim, 0);
  const predictions = groups.reduce(
    (sum, group) => sum + model.decoderEmbedDim * groupLength(group) + groupLength(group),
    0,
  );
  const encoder = embeddings + model.embedDim + model.depth * block(model.embedDim) + 2 * model.embedDim;
  const decoder =
    model.embedDim * model.decoderEmbedDim +
    model.decoderEmbedDim +
    model.decoderEmbedDim +
    model.decoderDepth * block(model.decoderEmbedDim) +
    2 * model.decoderEmbedDim +
    predictions +
    (model.channelAgnostic ? model.inChans * model.decoderEmbedDim : 0); // CA-MAE's channel embedding
  // HPM's loss predictor: its own decoder blocks, norm and head
  const predictor =
    model.lossPredictorWeight === undefined
      ? 0
      : model.decoderDepth * block(model.decoderEmbedDim) + 2 * model.decoderEmbedDim + predictions;
  return encoder + decoder + predictor; // position embeddings are fixed sin-cos tables, not parameters
}

/** Bytes one training step needs, split by what holds them. */
export interface MemoryEstimate {
  parameters: number;
  /** Weights, gradients, AdamW first and second moments. */
  parameterBytes: number;
  /** Activations kept for the backward pass, for one micro-batch. */
  activationBytes: number;
  totalBytes: number;
}

/** Estimates the memory of one optimizer step of a recipe. */
export function estimateTrainingMemory(recipe: Pick<TrainConfig, 'model' | 'batchSize' | 'maskRatio'>): MemoryEstimate {
  const { model, batchSize } = recipe;
  const numPatches = tokenCount(model); // SatMAE: G·L band-group tokens; CA-MAE: C·L channel tokens
  const parameters = parameterCount(model);
  const hpm = model.lossPredictorWeight !== undefined;
  // + HPM's EMA teacher, a copy of the weights
  const parameterBytes = parameters * FLOAT_BYTES * (hpm ? 5 : 4);
  const blockActivations = (tokens: number, width: number, heads: number) =>
    // LayerNorms, qkv, attention output, projection, residuals, MLP hidden and its activation,
    // plus the attention matrices (scores and softmax) per head.
    batchSize * (tokens * width * (10 + 2 * model.mlpRatio) + 2 * heads * tokens * tokens);
  const grouped = model.groupedBands;
  const frames = model.temporal?.frames ?? 1;
  // SatMAE keeps int(G·L·(1 − r)) of its G·L tokens (spatialMask: G times the count over L); its
  // temporal model keeps frames × the count over L (the same as over T·L at the usual ratios)
  const encoderTokens =
    1 +
    (grouped
      ? groupedKeepCount(grouped, numPatches / grouped.groups.length, recipe.maskRatio)
      : frames * keepCount(numPatches / frames, recipe.maskRatio));
  // SatMAE: every group's head reads every masked token (prediction, target, difference, square)
  const groupHeads = grouped
    ? batchSize * 4 * (numPatches + 1 - encoderTokens) * grouped.groups.flat().length * model.patchSize ** 2
    : 0;
  const decoderTokens = 1 + numPatches;
  const patchLength = tokenLength(model);
  // per sample, in every token layout (SatMAE temporal: T dates)
  const pixels = (model.temporal?.frames ?? 1) * model.inChans * model.imgSize * model.imgSize;
  const elements =
    batchSize * pixels * 4 + // images, patches, targets, prediction
    groupHeads +
    // CA-MAE Fourier term: unshuffle matrix, DFT products
    (model.fourierLossWeight ? batchSize * (numPatches * numPatches + 12 * numPatches * patchLength) : 0) +
    model.depth * blockActivations(encoderTokens, model.embedDim, model.numHeads) +
    // HPM: the loss predictor's blocks as many as the decoder's, and its pairwise terms over the masked patches
    model.decoderDepth * blockActivations(decoderTokens, model.decoderEmbedDim, model.decoderNumHeads) * (hpm ? 2 : 1) +
    (hpm ? batchSize * 8 * (numPatches - keepCount(numPatches, recipe.maskRatio)) ** 2 : 0);
  const activationBytes = elements * FLOAT_BYTES * TAPE_OVERHEAD;
  return { parameters, parameterBytes, activationBytes, totalBytes: parameterBytes + activationBytes };
}
