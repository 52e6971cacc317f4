import { describe, expect, it } from 'vitest';
import { chooseBlock, stratifiedFolds, type Predictor } from './probe-blocks';
import { knnPredict } from './knn';

/** kNN: a probe that needs no fitting options. */
const knn: Predictor = (train, labels, queries, width) =>
  knnPredict(train, labels, queries, width, 2, { k: 3, temperature: 0.07 });

describe('block selection', () => {
  it('deals every class evenly over the folds, the same for the same seed', () => {
    const labels = [...new Array<number>(9).fill(0), ...new Array<number>(6).fill(1)];
    const fold = stratifiedFolds(labels, 3, 1);
    for (const label of [0, 1]) {
      const perFold = [0, 1, 2].map((f) => fold.filter((value, i) => value === f && labels[i] === label).length);
      expect(Math.max(...perFold) - Math.min(...perFold)).toBeLessThanOrEqual(1);
    }
    expect(stratifiedFolds(labels, 3, 1)).toEqual(fold);
    expect(stratifiedFolds(labels, 3, 2)).not.toEqual(fold);
  });

  it('chooses the block whose features separate the classes, by cross-validation on the training images alone', () => {
    // Block 1: noise. Block 2: the label is the sign of the first feature.
    let state = 7;
    const noise = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
    const labels = Array.from({ length: 30 }, (_, i) => i % 2);
    const block1 = Float32Array.from({ length: 60 }, () => noise());
    const block2 = Float32Array.from({ length: 60 }, (_, j) =>
      j % 2 === 0 ? (labels[j / 2] === 1 ? 1 : -1) : 0.1 * noise(),
    );
    const choice = chooseBlock(
      [
        { block: 1, features: block1 },
        { block: 2, features: block2 },
      ],
      labels,
      2,
      knn,
      { folds: 3, seed: 0 },
    );
    expect(choice.chosen).toBe(2);
    expect(choice.selection.find((s) => s.block === 2)!.accuracy).toBe(1);
    expect(choice.selection.find((s) => s.block === 1)!.accuracy).toBeLessThan(0.8);
  });

  it('prefers the deeper block on a tie', () => {
    const features = Float32Array.from([1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1]);
    const labels = [0, 1, 0, 1, 0, 1];
    expect(
      chooseBlock(
        [
          { block: 1, features },
          { block: 3, features },
        ],
        labels,
        2,
        knn,
      ).chosen,
    ).toBe(3);
  });
});
