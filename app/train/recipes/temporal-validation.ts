/**
 * A SatMAE temporal run's fixed validation samples: each place held out of training (whole, so
 * the loss is on places the encoder never saw) gives one sample of T of its dates, evenly spread
 * over its record, read as training reads them but without augmentation (the stacked frames
 * resized whole to the model's side), with fixed masks and each date's timestamp. The same
 * samples, or training places' when none is held out, feed the reconstruction grid (a row per
 * date).
 */
import * as tf from '@tensorflow/tfjs-core';
import { resizeCrop } from '../../data/augment';
import { decodePlanar, type ImageEntry } from '../../data/batches';
import { stackFrames, type PlaceSeries } from '../../data/series-batches';
import type { MaskSet } from '../../mae/masking';
import type { MaeTargets } from '../../mae/model';
import { masksForModel } from '../../mae/model-masks';
import { Rng } from '../../mae/rng';
import type { Workspace } from '../../workspace';
import type { PretrainPlan } from '../pretrain-plan';
import type { DomainRecipeConfig } from './domain-recipes';
import { trainingPlaces } from './temporal-data';

/** One batch of fixed samples: frames [B, T·C, S, S], masks over T·L tokens, the timestamps as targets. */
export interface TemporalValidationBatch {
  images: tf.Tensor4D;
  masks: MaskSet;
  targets: MaeTargets;
}

/** At most `count` items, evenly spaced, first and last included when count ≥ 2. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (count === 1) return [items[0]!];
  return Array.from({ length: count }, (_, index) => items[Math.round((index * (items.length - 1)) / (count - 1))]!);
}

/** Fixed samples of `places` (one each, T dates spread over its record) in batches of the run's size. */
export async function placeSamples(
  places: readonly PlaceSeries[],
  plan: PretrainPlan,
  frames: number,
  batchSize = plan.recipe.batchSize,
): Promise<TemporalValidationBatch[]> {
  const { imgSize } = plan.recipe.model;
  const { transform } = plan.data;
  if (!transform) throw new Error('a SatMAE temporal run needs a channel plan');
  const channels = transform.bands.length;
  const perSample = frames * channels * imgSize * imgSize;
  const rng = Rng.fromSeed(plan.recipe.seed, 202); // the masks: the same every validation
  const batches: TemporalValidationBatch[] = [];
  for (let start = 0; start < places.length; start += batchSize) {
    const chunk = places.slice(start, start + batchSize);
    const data = new Float32Array(chunk.length * perSample);
    const timestamps = new Float32Array(chunk.length * frames * 3);
    for (const [index, place] of chunk.entries()) {
      const dates = spread(place.frames, frames);
      const decoded = await Promise.all(dates.map((date) => decodePlanar(date.entry, transform)));
      const stacked = stackFrames(decoded); // [T*C, H, W]
      const box = { top: 0, left: 0, height: stacked.height, width: stacked.width };
      resizeCrop(stacked, box, imgSize, false, data.subarray(index * perSample, (index + 1) * perSample));
      dates.forEach((date, t) => timestamps.set(date.timestamp, (index * frames + t) * 3));
    }
    const masks = masksForModel(
      plan.recipe.model,
      plan.recipe.maskStrategy,
      { batchSize: chunk.length, maskRatio: plan.recipe.maskRatio },
      rng,
    );
    const images = tf.tensor4d(data, [chunk.length, frames * channels, imgSize, imgSize]);
    batches.push({ images, masks, targets: { timestamps } });
  }
  return batches;
}

/**
 * The run's validation batches (its held-out places) and the samples its reconstruction grids
 * show (`shown` places: held-out ones, else training ones), from the run's images `imageIds` and
 * their `entries`; no validation batches when no place is held out (runs planned before places
 * were held out, or fewer than three places).
 */
export async function temporalValidation(
  workspace: Workspace,
  plan: PretrainPlan,
  recipe: Extract<DomainRecipeConfig, { name: 'satmae-temporal' }>,
  images: { imageIds: readonly number[]; entries: readonly ImageEntry[] },
  shown: number,
): Promise<{ validation: TemporalValidationBatch[]; preview: TemporalValidationBatch | null }> {
  const held = trainingPlaces(workspace, images.imageIds, images.entries, recipe, true);
  const validation = await placeSamples(held, plan, recipe.frames);
  const training = () => trainingPlaces(workspace, images.imageIds, images.entries, recipe);
  const previewPlaces = (held.length > 0 ? held : training()).slice(0, shown);
  const [preview] = await placeSamples(previewPlaces, plan, recipe.frames, previewPlaces.length);
  return { validation, preview: preview ?? null };
}
