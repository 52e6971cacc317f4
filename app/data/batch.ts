/**
 * What training consumes: planar batches of normalised images and the source that draws them.
 * Owned by data/ (every source lives here or is synthetic); the trainer in train/ reads them.
 */
import type { Rng } from '../mae/rng';

/** A batch of normalised images, planar: `images` is [B, C, H, W] row-major. */
export interface Batch {
  images: Float32Array;
  batchSize: number;
  channels: number;
  height: number;
  width: number;
  /**
   * SatMAE temporal: `images` holds T frames of one place per sample, stacked as channels
   * (T·C), and this their dates, [B, T, 3]: years since the run's first year, month − 1, hour.
   */
  timestamps?: Float32Array;
}

/** Where training images come from. `next` must draw all its randomness from `rng`. */
export interface BatchSource {
  next(rng: Rng, batchSize: number): Batch | Promise<Batch>;
}
