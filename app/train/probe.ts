/**
 * Linear probe on frozen features, as the MAE paper (He et al., §A.2): a BatchNorm without
 * affine parameters in front of a linear head, so the probe is insensitive to the feature
 * scale the encoder happens to produce. The features are cached, so "BatchNorm" is the exact
 * standardisation by the train split's mean and variance, and the head is a multinomial
 * logistic regression trained full-batch with Adam and a small L2 penalty.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Linear probe settings. */
export interface LinearProbeOptions {
  /** Full-batch optimizer steps. */
  epochs: number;
  learningRate: number;
  /** L2 penalty on the weights (not the bias). */
  weightDecay: number;
}

/** Defaults that converge on a few hundred cached feature vectors in well under a second. */
export const DEFAULT_LINEAR_PROBE: LinearProbeOptions = {
  epochs: 300, // full-batch Adam converges on this convex problem well before
  learningRate: 0.01, // Adam on standardised inputs
  weightDecay: 1e-3, // keeps the head finite when the classes separate perfectly
};

/** A fitted probe: standardisation statistics and the linear head, as plain numbers. */
export interface LinearProbe {
  width: number;
  numClasses: number;
  mean: Float32Array;
  /** 1 / sqrt(var + eps) per feature. */
  inverseStd: Float32Array;
  /** [D, K] row-major. */
  weight: Float32Array;
  bias: Float32Array;
}

const BATCH_NORM_EPS = 1e-6; // as the reference's BatchNorm1d(affine=False, eps=1e-6)

/** Fits a probe on `features` [N, D] (row-major) with labels in 0..numClasses−1. */
export function fitLinearProbe(
  features: Float32Array, labels: readonly number[], width: number, numClasses: number, options: LinearProbeOptions = DEFAULT_LINEAR_PROBE,
): LinearProbe {
  const count = labels.length;
  if (features.length !== count * width) throw new Error(`probe: ${features.length} feature values for ${count} images of width ${width}`);
  let probe: LinearProbe | undefined;
  tf.tidy(() => {
    const x = tf.tensor2d(features, [count, width]);
    const { mean, variance } = tf.moments(x, 0); // [D] each, biased: BatchNorm's normalisation
    const inverseStd = tf.rsqrt(tf.add(variance, BATCH_NORM_EPS));
    const standardised = tf.mul(tf.sub(x, mean), inverseStd); // [N, D]
    const targets = tf.cast(tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), numClasses), 'float32'); // [N, K]
    const weight = tf.variable(tf.zeros([width, numClasses]), true);
    const bias = tf.variable(tf.zeros([numClasses]), true);
    const optimizer = tf.train.adam(options.learningRate);
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      optimizer.minimize(() => {
        const logits = tf.add(tf.matMul(standardised, weight), bias); // [N, K]
        const crossEntropy = tf.losses.softmaxCrossEntropy(targets, logits);
        return tf.add(crossEntropy, tf.mul(options.weightDecay / 2, tf.sum(tf.square(weight)))) as tf.Scalar;
      }, false, [weight, bias]);
    }
    probe = {
      width,
      numClasses,
      mean: mean.dataSync() as Float32Array,
      inverseStd: inverseStd.dataSync() as Float32Array,
      weight: weight.dataSync() as Float32Array,
      bias: bias.dataSync() as Float32Array,
    };
    optimizer.dispose();
    weight.dispose();
    bias.dispose();
  });
  return probe!;
}

/** Class scores [M, K] (row-major logits) for `features` [M, D]. */
export function probeLogits(probe: LinearProbe, features: Float32Array): Float32Array {
  const { width, numClasses } = probe;
  const rows = features.length / width;
  const logits = new Float32Array(rows * numClasses);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < numClasses; k++) {
      let sum = probe.bias[k]!;
      for (let d = 0; d < width; d++) sum += (features[r * width + d]! - probe.mean[d]!) * probe.inverseStd[d]! * probe.weight[d * numClasses + k]!;
      logits[r * numClasses + k] = sum;
    }
  }
  return logits;
}
