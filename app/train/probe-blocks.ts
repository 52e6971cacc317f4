/**
 * Which encoder block to probe. MAE features are known to probe best below the top (He et al.
 * §5 and follow-ups: the last blocks specialise in pixel reconstruction), so "best" tries every
 * block — but it must not choose on the validation images it then reports, or the number would
 * be optimistic. It chooses by stratified k-fold cross-validation *within the fitted training
 * images*: each block's probe is fitted on k − 1 folds and scored on the held-out one; the block
 * with the best mean held-out accuracy wins (ties go to the deeper block, the usual default).
 */
import { Rng } from '../mae/rng';

/** Predicts a label per query row from labelled training rows (a linear probe or kNN). */
export type Predictor = (
  train: Float32Array,
  trainLabels: readonly number[],
  queries: Float32Array,
  width: number,
) => number[];

/** Settings of the block search. */
export interface BlockSelectionOptions {
  /** Stratified folds of the training images. */
  folds: number;
  /** Seed of the fold assignment (the run's seed, so a probe repeated chooses the same block). */
  seed: number;
}

/** 3 folds: every image is held out once, and each fit still sees two thirds of the labels. */
export const DEFAULT_BLOCK_SELECTION: BlockSelectionOptions = {
  folds: 3, // more folds cost a fit each per block; 3 keeps a "best" probe within seconds on small sets
  seed: 0,
};

/** Stream of the run seed that assigns folds (the label budget uses 102, the bootstrap 103). */
export const FOLD_STREAM = 104;

/** A fold index per image: each class's images shuffled (seeded) and dealt round-robin to the folds. */
export function stratifiedFolds(labels: readonly number[], folds: number, seed: number): number[] {
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`folds must be an integer ≥ 2, got ${folds}`);
  const rng = Rng.fromSeed(seed, FOLD_STREAM);
  const fold = new Array<number>(labels.length).fill(0);
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  let dealt = 0; // continue dealing across classes so small classes do not all land in fold 0
  for (const label of classes) {
    const members = rng.shuffle(labels.flatMap((value, index) => (value === label ? [index] : [])));
    for (const index of members) fold[index] = dealt++ % folds;
  }
  return fold;
}

/** The rows `indices` of a row-major [N, D] matrix, as a new [indices.length, D] matrix. */
function rows(features: Float32Array, width: number, indices: readonly number[]): Float32Array {
  const out = new Float32Array(indices.length * width);
  indices.forEach((index, r) => out.set(features.subarray(index * width, (index + 1) * width), r * width));
  return out;
}

/** Mean held-out accuracy of `predict` over the folds (each fold scored by a fit on the others). */
export function crossValidatedAccuracy(
  features: Float32Array,
  labels: readonly number[],
  width: number,
  fold: readonly number[],
  predict: Predictor,
): number {
  const folds = Math.max(...fold) + 1;
  let correct = 0;
  let scored = 0;
  for (let f = 0; f < folds; f++) {
    const heldOut = fold.flatMap((value, index) => (value === f ? [index] : []));
    const fitted = fold.flatMap((value, index) => (value === f ? [] : [index]));
    if (heldOut.length === 0 || fitted.length === 0) continue;
    const predicted = predict(
      rows(features, width, fitted),
      fitted.map((i) => labels[i]!),
      rows(features, width, heldOut),
      width,
    );
    heldOut.forEach((index, r) => {
      if (predicted[r] === labels[index]) correct += 1;
    });
    scored += heldOut.length;
  }
  return scored === 0 ? 0 : correct / scored;
}

/** The block chosen and each candidate's cross-validated accuracy. */
export interface BlockChoice {
  chosen: number;
  selection: { block: number; accuracy: number }[];
}

/** Scores every candidate block's features by cross-validation on the training images and picks the best. */
export function chooseBlock(
  candidates: readonly { block: number; features: Float32Array }[],
  labels: readonly number[],
  width: number,
  predict: Predictor,
  options: BlockSelectionOptions = DEFAULT_BLOCK_SELECTION,
): BlockChoice {
  if (candidates.length === 0) throw new Error('chooseBlock needs at least one candidate block');
  const fold = stratifiedFolds(labels, options.folds, options.seed);
  const selection = candidates.map(({ block, features }) => ({
    block,
    accuracy: crossValidatedAccuracy(features, labels, width, fold, predict),
  }));
  const best = selection.reduce((top, entry) =>
    entry.accuracy > top.accuracy || (entry.accuracy === top.accuracy && entry.block > top.block) ? entry : top,
  );
  return { chosen: best.block, selection };
}
