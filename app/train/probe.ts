/**
 * Linear probe on frozen features, as the MAE paper (He et al., §A.2): a BatchNorm without
 * affine parameters in front of a linear head, so the probe is insensitive to the feature
 * scale the encoder happens to produce. The features are cached, so "BatchNorm" is the exact
 * standardisation by the train split's mean and variance, and the head is a multinomial
 * logistic regression trained full-batch with Adam and a small L2 penalty — in plain
 * double-precision JavaScript: on cached features it takes milliseconds on any backend, and the
 * pretrained and random-init probes are fitted by exactly the same arithmetic.
 */

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

/** The dot product of `x` and `w` over `length` values from `xAt` and `wAt`, four running sums. */
function dot(x: Float64Array, xAt: number, w: Float64Array, wAt: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d + 3 < length; d += 4) {
    s0 += x[xAt + d]! * w[wAt + d]!;
    s1 += x[xAt + d + 1]! * w[wAt + d + 1]!;
    s2 += x[xAt + d + 2]! * w[wAt + d + 2]!;
    s3 += x[xAt + d + 3]! * w[wAt + d + 3]!;
  }
  for (; d < length; d++) s0 += x[xAt + d]! * w[wAt + d]!;
  return s0 + s1 + (s2 + s3);
}

/** `into[intoAt + d] += scale · x[xAt + d]` for d in 0..length−1. */
function addScaled(into: Float64Array, intoAt: number, scale: number, x: Float64Array, xAt: number, length: number) {
  for (let d = 0; d < length; d++) into[intoAt + d]! += scale * x[xAt + d]!;
}

/**
 * Fits a probe on `features` [N, D] (row-major) with labels in 0..numClasses−1. The weights are
 * held class by class ([K, D]) while fitting, so both passes over the features — logits and
 * gradient — run along contiguous rows of doubles; the sums are the same as row by row up to
 * their order (equal to float tolerance: `probe.test.ts` checks against the first version).
 */
export function fitLinearProbe(
  features: Float32Array,
  labels: readonly number[],
  width: number,
  numClasses: number,
  options: LinearProbeOptions = DEFAULT_LINEAR_PROBE,
): LinearProbe {
  const count = labels.length;
  if (features.length !== count * width)
    throw new Error(`probe: ${features.length} feature values for ${count} images of width ${width}`);
  // BatchNorm without affine over the (cached) train features: biased variance, eps 1e-6. Sums
  // run image by image for every feature at once (each feature's sum in the same order as alone).
  const sums = new Float64Array(width);
  for (let n = 0; n < count; n++) for (let d = 0; d < width; d++) sums[d]! += features[n * width + d]!;
  const mu = sums.map((sum) => sum / count);
  const squares = new Float64Array(width);
  for (let n = 0; n < count; n++)
    for (let d = 0; d < width; d++) squares[d]! += (features[n * width + d]! - mu[d]!) ** 2;
  const mean = Float32Array.from(mu);
  const inverseStd = Float32Array.from(squares, (sum) => 1 / Math.sqrt(sum / count + BATCH_NORM_EPS));
  // The standardised features, once: [N, D] doubles.
  const x = new Float64Array(count * width);
  for (let n = 0; n < count; n++)
    for (let d = 0; d < width; d++) x[n * width + d] = (features[n * width + d]! - mean[d]!) * inverseStd[d]!;
  // Softmax regression, full batch, Adam (β 0.9 / 0.999, as torch) on mean cross-entropy + L2 on W.
  const size = width * numClasses;
  const params = new Float64Array(size + numClasses); // W [K, D] then b [K], zero init (a convex problem)
  const m = new Float64Array(params.length);
  const v = new Float64Array(params.length);
  const grad = new Float64Array(params.length);
  const logits = new Float64Array(numClasses);
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    grad.fill(0);
    for (let n = 0; n < count; n++) {
      const row = n * width;
      let largest = -Infinity;
      for (let k = 0; k < numClasses; k++) {
        logits[k] = params[size + k]! + dot(x, row, params, k * width, width);
        largest = Math.max(largest, logits[k]!);
      }
      let total = 0;
      for (let k = 0; k < numClasses; k++) total += logits[k] = Math.exp(logits[k]! - largest);
      for (let k = 0; k < numClasses; k++) {
        const error = (logits[k]! / total - (labels[n] === k ? 1 : 0)) / count; // ∂loss/∂logit
        grad[size + k]! += error;
        addScaled(grad, k * width, error, x, row, width);
      }
    }
    for (let i = 0; i < size; i++) grad[i]! += options.weightDecay * params[i]!;
    const correction1 = 1 - 0.9 ** epoch;
    const correction2 = 1 - 0.999 ** epoch;
    for (let i = 0; i < params.length; i++) {
      m[i] = 0.9 * m[i]! + 0.1 * grad[i]!;
      v[i] = 0.999 * v[i]! + 0.001 * grad[i]! ** 2;
      params[i]! -= (options.learningRate * (m[i]! / correction1)) / (Math.sqrt(v[i]! / correction2) + 1e-8);
    }
  }
  const weight = new Float32Array(size); // back to [D, K]
  for (let k = 0; k < numClasses; k++)
    for (let d = 0; d < width; d++) weight[d * numClasses + k] = params[k * width + d]!;
  return { width, numClasses, mean, inverseStd, weight, bias: Float32Array.from(params.subarray(size)) };
}

/** Class scores [M, K] (row-major logits) for `features` [M, D]. */
export function probeLogits(probe: LinearProbe, features: Float32Array): Float32Array {
  const { width, numClasses } = probe;
  const rows = features.length / width;
  const logits = new Float32Array(rows * numClasses);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < numClasses; k++) {
      let sum = probe.bias[k]!;
      for (let d = 0; d < width; d++)
        sum += (features[r * width + d]! - probe.mean[d]!) * probe.inverseStd[d]! * probe.weight[d * numClasses + k]!;
      logits[r * numClasses + k] = sum;
    }
  }
  return logits;
}
