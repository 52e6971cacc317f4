import { describe, expect, it } from 'vitest';
import { wilsonInterval } from './intervals';
import { knnPredict } from './knn';
import { fitLinearProbe, probeLogits } from './probe';
import { argmaxRows, classificationScores } from './probe-metrics';
import { referenceFitLinearProbe } from './probe-reference.fixtures';

/** Three Gaussian clusters in 8-D, offset along different axes, on a large common offset. */
function clusters(perClass: number, seed: number): { features: Float32Array; labels: number[] } {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  const labels = Array.from({ length: 3 * perClass }, (_, i) => i % 3);
  const features = new Float32Array(labels.length * 8);
  labels.forEach((label, n) => {
    for (let d = 0; d < 8; d++) features[n * 8 + d] = 100 + random() + (d === label ? 3 : 0);
  });
  return { features, labels };
}

describe('linear probe', () => {
  it('separates separable classes whatever the feature offset (BatchNorm without affine)', () => {
    const train = clusters(20, 1);
    const val = clusters(10, 2);
    const probe = fitLinearProbe(train.features, train.labels, 8, 3);
    const predicted = argmaxRows(probeLogits(probe, val.features), 3);
    expect(classificationScores(val.labels, predicted, ['a', 'b', 'c']).accuracy).toBe(1);
    expect(Math.abs(probe.mean[0]! - 101)).toBeLessThan(0.5);
  });

  it('fits the same probe as the first, row-by-row fit (weights, statistics and predictions)', () => {
    // 4 classes in 37-D (not a multiple of the fast fit's 4 running sums), 300 Adam passes as shipped.
    let state = 5;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
    const labels = Array.from({ length: 120 }, (_, i) => (i * 7) % 4);
    const features = Float32Array.from({ length: 120 * 37 }, (_, i) => {
      const d = i % 37;
      return 10 + random() * (1 + d / 10) + (d % 4 === labels[Math.floor(i / 37)] ? 0.4 : 0);
    });
    const fast = fitLinearProbe(features, labels, 37, 4);
    const reference = referenceFitLinearProbe(features, labels, 37, 4);
    expect(Array.from(fast.mean)).toEqual(Array.from(reference.mean));
    expect(Array.from(fast.inverseStd)).toEqual(Array.from(reference.inverseStd));
    const largest = Math.max(...reference.weight.map(Math.abs));
    expect(largest).toBeGreaterThan(0.1); // a fitted head, not zeros
    fast.weight.forEach((value, i) => expect(Math.abs(value - reference.weight[i]!)).toBeLessThan(1e-5 * largest));
    fast.bias.forEach((value, i) => expect(Math.abs(value - reference.bias[i]!)).toBeLessThan(1e-5 * largest));
    const predicted = (probe: typeof fast) => argmaxRows(probeLogits(probe, features), 4);
    expect(predicted(fast)).toEqual(predicted(reference));
  });

  it('refuses features that do not match the labels', () => {
    expect(() => fitLinearProbe(new Float32Array(10), [0, 1], 4, 2)).toThrow(
      /10 feature values for 2 images of width 4/,
    );
  });
});

describe('kNN', () => {
  it('labels queries by their cosine neighbours', () => {
    const train = new Float32Array([1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9]);
    expect(
      knnPredict(train, [0, 0, 1, 1], new Float32Array([5, 0.5, 0.2, 3]), 2, 2, { k: 2, temperature: 0.07 }),
    ).toEqual([0, 1]);
    expect(() => knnPredict(train, [0, 0, 1, 1], train, 2, 2, { k: 0, temperature: 0.07 })).toThrow(
      /knn.k must be a positive integer/,
    );
  });
});

describe('classification scores', () => {
  it('gives accuracy, per-class precision and recall, and the confusion matrix [truth][predicted]', () => {
    const scores = classificationScores([0, 0, 1, 1, 2], [0, 1, 1, 1, 1], ['a', 'b', 'c']);
    expect(scores.accuracy).toBeCloseTo(3 / 5, 10);
    expect(scores.confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [0, 1, 0],
    ]);
    expect(scores.perClass[1]).toMatchObject({ label: 'b', precision: 0.5, recall: 1, support: 2 });
    expect(scores.perClass[1]!.recallInterval).toEqual(wilsonInterval(2, 2));
    expect(scores).toMatchObject({ images: 5, interval: wilsonInterval(3, 5) });
    expect(scores.perClass[2]).toMatchObject({ label: 'c', precision: 0, recall: 0, support: 1 });
  });
});
