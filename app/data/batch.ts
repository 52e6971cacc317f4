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
}

/** Where training images come from. `next` must draw all its randomness from `rng`. */
export interface BatchSource {
  next(rng: Rng, batchSize: number): Batch | Promise<Batch>;
}
