/**
 * k-nearest-neighbour classification on frozen features with cosine similarity and
 * similarity-weighted votes, exp(s / T) (Wu et al. 2018; the kNN monitor of DINO and MAE
 * follow-ups). No training: a quick, hyperparameter-light read of what the features separate.
 */

/** kNN settings. */
export interface KnnOptions {
  /** Neighbours that vote. */
  k: number;
  /** Vote temperature T: weight exp(similarity / T). */
  temperature: number;
}

/** Defaults as in DINO's kNN evaluation, with k scaled down for small projects. */
export const DEFAULT_KNN: KnnOptions = {
  k: 20, // DINO reports k = 20 as the best; capped by the train split's size
  temperature: 0.07, // DINO / Wu et al.
};

/** Rows of a row-major [N, D] matrix scaled to unit length (zero rows stay zero). */
export function normaliseRows(features: Float32Array, width: number): Float32Array {
  const out = new Float32Array(features.length);
  for (let r = 0; r < features.length / width; r++) {
    let norm = 0;
    for (let d = 0; d < width; d++) norm += features[r * width + d]! ** 2;
    const inverse = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let d = 0; d < width; d++) out[r * width + d] = features[r * width + d]! * inverse;
  }
  return out;
}

/**
 * Predicts a label for every query row. `train` [N, D], `queries` [M, D], row-major;
 * `trainLabels` in 0..numClasses−1. Throws on an invalid k.
 */
export function knnPredict(
  train: Float32Array,
  trainLabels: readonly number[],
  queries: Float32Array,
  width: number,
  numClasses: number,
  options: KnnOptions = DEFAULT_KNN,
): number[] {
  if (!Number.isInteger(options.k) || options.k < 1)
    throw new Error(`knn.k must be a positive integer, got ${options.k}`);
  if (!(options.temperature > 0)) throw new Error(`knn.temperature must be > 0, got ${options.temperature}`);
  const k = Math.min(options.k, trainLabels.length);
  const trainUnit = normaliseRows(train, width);
  const queryUnit = normaliseRows(queries, width);
  const predictions: number[] = [];
  const similarity = new Float64Array(trainLabels.length);
  for (let q = 0; q < queries.length / width; q++) {
    for (let n = 0; n < trainLabels.length; n++) {
      let dot = 0;
      for (let d = 0; d < width; d++) dot += queryUnit[q * width + d]! * trainUnit[n * width + d]!;
      similarity[n] = dot;
    }
    const nearest = Array.from(similarity.keys())
      .sort((a, b) => similarity[b]! - similarity[a]! || a - b)
      .slice(0, k);
    const votes = new Float64Array(numClasses);
    for (const n of nearest) votes[trainLabels[n]!]! += Math.exp(similarity[n]! / options.temperature);
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (votes[c]! > votes[best]!) best = c;
    predictions.push(best);
  }
  return predictions;
}
