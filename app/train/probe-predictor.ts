/** The probe of a run as one function: a linear probe or kNN, fitted on labelled rows, predicting query rows. */
import { DEFAULT_KNN, knnPredict } from './knn';
import { DEFAULT_LINEAR_PROBE, fitLinearProbe, probeLogits } from './probe';
import type { Predictor } from './probe-blocks';
import { argmaxRows } from './probe-metrics';

/** The probe as a function from labelled training rows to predicted labels of query rows. */
export function probePredictor(options: { method: 'linear' | 'knn'; k: number }, numClasses: number): Predictor {
  if (options.method === 'knn')
    return (train, labels, queries, width) =>
      knnPredict(train, labels, queries, width, numClasses, { ...DEFAULT_KNN, k: options.k });
  return (train, labels, queries, width) =>
    argmaxRows(
      probeLogits(fitLinearProbe(train, labels, width, numClasses, DEFAULT_LINEAR_PROBE), queries),
      numClasses,
    );
}
