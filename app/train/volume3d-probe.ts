/**
 * Linear probing of a 3-D MAE on per-volume labels: each volume (a NIfTI file or a DICOM series,
 * read as a VoxelGrid) gives one feature vector — its centre crop at the model's input size,
 * standardised as in training, through the encoder, pooled (cls token or patch mean) — and the
 * probe of the 2-D studio (probe.ts: BatchNorm-standardised logistic regression) is fitted on them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { centreCrop3d } from '../data/volumes/volume-crops';
import type { VoxelGrid } from '../data/volumes/volume-planes';
import { encodeVolumes3d, type Mae3dModel } from '../mae/volume3d/mae3d';
import { DEFAULT_LINEAR_PROBE, fitLinearProbe, probeLogits, type LinearProbe, type LinearProbeOptions } from './probe';
import { poolTokens } from './probe-features';
import type { Pooling } from './probe-model';

/** One labelled volume. */
export interface LabelledVolume {
  grid: VoxelGrid;
  /** Class index 0..K−1. */
  label: number;
  /** Shown in errors (file or series name). */
  name: string;
}

/** Volumes encoded per forward pass: bounded memory for 64³ crops. */
const FEATURE_BATCH = 4;

/** Features [N, D] of volumes: centre crops through the encoder, pooled. */
export function volumeFeatures3d(
  model: Mae3dModel,
  volumes: readonly LabelledVolume[],
  pooling: Pooling,
): Float32Array {
  const { volumeSize, inChans, embedDim } = model.config;
  const features = new Float32Array(volumes.length * embedDim);
  for (let start = 0; start < volumes.length; start += FEATURE_BATCH) {
    const chunk = volumes.slice(start, start + FEATURE_BATCH);
    const crops = chunk.map((volume) => {
      const crop = centreCrop3d(volume.grid, { size: volumeSize }, volume.name);
      if (crop.channels !== inChans) {
        throw new Error(`${volume.name} has ${crop.channels} channel(s); the model takes ${inChans}`);
      }
      return crop.values;
    });
    const values = new Float32Array(crops.length * crops[0]!.length);
    crops.forEach((crop, b) => values.set(crop, b * crop.length));
    const pooled = tf.tidy(() => {
      const batch = tf.tensor(values, [crops.length, inChans, ...volumeSize]);
      return poolTokens(encodeVolumes3d(model, batch), pooling);
    });
    features.set(pooled.dataSync(), start * embedDim);
    pooled.dispose();
  }
  return features;
}

/** A fitted per-volume probe and its accuracy on the held-out volumes. */
export interface VolumeProbeResult {
  probe: LinearProbe;
  /** Fraction of `test` volumes whose highest logit is their label. */
  accuracy: number;
  /** Predicted class of each test volume. */
  predictions: number[];
}

/** Fits the linear probe on `train` volumes' features and scores it on `test`. */
export function probeVolumes3d(
  model: Mae3dModel,
  train: readonly LabelledVolume[],
  test: readonly LabelledVolume[],
  numClasses: number,
  pooling: Pooling = 'mean',
  options: LinearProbeOptions = DEFAULT_LINEAR_PROBE,
): VolumeProbeResult {
  const bad = [...train, ...test].find((v) => !Number.isInteger(v.label) || v.label < 0 || v.label >= numClasses);
  if (bad) throw new Error(`${bad.name}: label ${bad.label} is not a class index 0..${numClasses - 1}`);
  if (train.length === 0 || test.length === 0) throw new Error('a 3-D probe needs labelled train and test volumes');
  const width = model.config.embedDim;
  const probe = fitLinearProbe(
    volumeFeatures3d(model, train, pooling),
    train.map((v) => v.label),
    width,
    numClasses,
    options,
  );
  const logits = probeLogits(probe, volumeFeatures3d(model, test, pooling));
  const predictions = test.map((_, n) => {
    const row = logits.subarray(n * numClasses, (n + 1) * numClasses);
    return row.indexOf(Math.max(...row));
  });
  const correct = predictions.filter((p, n) => p === test[n]!.label).length;
  return { probe, accuracy: correct / test.length, predictions };
}
