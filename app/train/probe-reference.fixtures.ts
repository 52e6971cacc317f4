/**
 * Test fixture: the linear probe's fit as first written (row by row over the weights, classes
 * innermost), kept verbatim as the reference the fast fit in `probe.ts` must equal to float
 * tolerance: same objective, optimiser, schedule, passes and initialisation.
 */
import { DEFAULT_LINEAR_PROBE, type LinearProbe, type LinearProbeOptions } from './probe';

const BATCH_NORM_EPS = 1e-6; // as the reference's BatchNorm1d(affine=False, eps=1e-6)

/** The fit as first written: `features` [N, D] (row-major), labels in 0..numClasses−1. */
export function referenceFitLinearProbe(
  features: Float32Array,
  labels: readonly number[],
  width: number,
  numClasses: number,
  options: LinearProbeOptions = DEFAULT_LINEAR_PROBE,
): LinearProbe {
  const count = labels.length;
  if (features.length !== count * width)
    throw new Error(`probe: ${features.length} feature values for ${count} images of width ${width}`);
  // BatchNorm without affine over the (cached) train features: biased variance, eps 1e-6.
  const mean = new Float32Array(width);
  const inverseStd = new Float32Array(width);
  for (let d = 0; d < width; d++) {
    let sum = 0;
    for (let n = 0; n < count; n++) sum += features[n * width + d]!;
    const mu = sum / count;
    let squares = 0;
    for (let n = 0; n < count; n++) squares += (features[n * width + d]! - mu) ** 2;
    mean[d] = mu;
    inverseStd[d] = 1 / Math.sqrt(squares / count + BATCH_NORM_EPS);
  }
  const x = new Float64Array(count * width);
  for (let n = 0; n < count; n++)
    for (let d = 0; d < width; d++) x[n * width + d] = (features[n * width + d]! - mean[d]!) * inverseStd[d]!;
  // Softmax regression, full batch, Adam (β 0.9 / 0.999, as torch) on mean cross-entropy + L2 on W.
  const size = width * numClasses;
  const params = new Float64Array(size + numClasses); // W [D, K] then b [K], zero init (a convex problem)
  const m = new Float64Array(params.length);
  const v = new Float64Array(params.length);
  const grad = new Float64Array(params.length);
  const logits = new Float64Array(numClasses);
  const errors = new Float64Array(numClasses);
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    grad.fill(0);
    for (let n = 0; n < count; n++) {
      const row = n * width;
      // Row by row over W [D, K] (contiguous): the same sums, in the same order, as one logit at a time.
      for (let k = 0; k < numClasses; k++) logits[k] = params[size + k]!;
      for (let d = 0; d < width; d++) {
        const value = x[row + d]!;
        const base = d * numClasses;
        for (let k = 0; k < numClasses; k++) logits[k]! += value * params[base + k]!;
      }
      let largest = -Infinity;
      for (let k = 0; k < numClasses; k++) largest = Math.max(largest, logits[k]!);
      let total = 0;
      for (let k = 0; k < numClasses; k++) total += logits[k] = Math.exp(logits[k]! - largest);
      for (let k = 0; k < numClasses; k++) {
        errors[k] = (logits[k]! / total - (labels[n] === k ? 1 : 0)) / count; // ∂loss/∂logit
        grad[size + k]! += errors[k]!;
      }
      for (let d = 0; d < width; d++) {
        const value = x[row + d]!;
        const base = d * numClasses;
        for (let k = 0; k < numClasses; k++) grad[base + k]! += errors[k]! * value;
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
  return {
    width,
    numClasses,
    mean,
    inverseStd,
    weight: Float32Array.from(params.subarray(0, size)),
    bias: Float32Array.from(params.subarray(size)),
  };
}
