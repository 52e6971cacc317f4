/**
 * A structured synthetic dataset: smooth oriented gratings and blobs that differ per sample.
 * Masked patches are predictable from visible ones, so an MAE's loss must fall on it; used by
 * tests, the benchmark and smoke runs without any files.
 */
import type { Rng } from '../mae/rng';
import type { Batch, BatchSource } from '../data/batch';

/** Shape of the generated images. */
export interface SyntheticOptions {
  imgSize: number;
  channels: number;
}

/** A `BatchSource` of synthetic images, roughly zero-mean and unit-variance per channel. */
export function syntheticSource(options: SyntheticOptions): BatchSource {
  const { imgSize, channels } = options;
  return {
    next(rng: Rng, batchSize: number): Batch {
      const plane = imgSize * imgSize;
      const images = new Float32Array(batchSize * channels * plane);
      for (let b = 0; b < batchSize; b++) {
        const angle = rng.uniformIn(0, Math.PI);
        const frequency = (rng.uniformIn(1.5, 4) * (2 * Math.PI)) / imgSize;
        const phase = rng.uniformIn(0, 2 * Math.PI);
        const blobY = rng.uniformIn(0.2, 0.8) * imgSize;
        const blobX = rng.uniformIn(0.2, 0.8) * imgSize;
        const blobRadius = rng.uniformIn(0.1, 0.25) * imgSize;
        const gains = Array.from({ length: channels }, () => rng.uniformIn(0.5, 1.5));
        const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
        for (let y = 0; y < imgSize; y++) {
          for (let x = 0; x < imgSize; x++) {
            const grating = Math.sin(frequency * (x * cos + y * sin) + phase);
            const blob = Math.exp(-((y - blobY) ** 2 + (x - blobX) ** 2) / (2 * blobRadius * blobRadius));
            for (let c = 0; c < channels; c++) {
              images[(b * channels + c) * plane + y * imgSize + x] =
                gains[c]! * grating + (c % 2 === 0 ? 1 : -1) * 1.5 * blob;
            }
          }
        }
      }
      return { images, batchSize, channels, height: imgSize, width: imgSize };
    },
  };
}
