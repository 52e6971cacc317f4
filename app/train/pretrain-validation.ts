/**
 * A pretraining run's validation: its validation images as model-sized tensors with fixed masks
 * (no augmentation, so every pass sees the same pixels and patches), and the mean masked-patch
 * loss over them. The run validates with it, and reconstruction grids draw from such a set.
 */
import * as tf from '@tensorflow/tfjs-core';
import { resizeCrop } from '../data/augment';
import { centralWindow, decodePlanar, type ImageEntry } from '../data/batches';
import type { MaskSet } from '../mae/masking';
import { masksForModel } from '../mae/model-masks';
import { forwardMae, type MaeTargets } from '../mae/model';
import { Rng } from '../mae/rng';
import type { PretrainPlan } from './pretrain-plan';
import { recipeBatch, recipeTensors } from './recipes/domain-recipes';
import type { MaeTrainer } from './trainer';

/** Validation images as model-sized tensors, batch by batch, each with its fixed masks. */
export interface ValidationSet {
  /** `images` is what the encoder sees; `targets` what the run's domain recipe regresses instead of them. */
  batches: { images: tf.Tensor4D; masks: MaskSet; targets: MaeTargets }[];
}

/** Whole images resized to the model's size (no augmentation), with fixed masks. */
export async function validationSet(entries: ImageEntry[], plan: PretrainPlan): Promise<ValidationSet | null> {
  if (entries.length === 0) return null;
  const { imgSize } = plan.recipe.model;
  const channels = plan.data.channels;
  const plane = imgSize * imgSize;
  const rng = Rng.fromSeed(plan.recipe.seed, 202);
  const batches: ValidationSet['batches'] = [];
  for (let start = 0; start < entries.length; start += plan.recipe.batchSize) {
    const chunk = entries.slice(start, start + plan.recipe.batchSize);
    const data = new Float32Array(chunk.length * channels * plane);
    for (const [index, entry] of chunk.entries()) {
      // Huge images are validated on their central window, never decoded whole.
      const image = await decodePlanar(entry, plan.data.transform, centralWindow(entry, imgSize));
      const sample = data.subarray(index * channels * plane, (index + 1) * channels * plane);
      resizeCrop(image, { top: 0, left: 0, height: image.height, width: image.width }, imgSize, false, sample);
      if (plan.data.transform) continue;
      for (let c = 0; c < channels; c++) {
        for (let k = c * plane; k < (c + 1) * plane; k++)
          sample[k] = (sample[k]! - plan.data.mean[c]!) / plan.data.std[c]!;
      }
    }
    const masks = masksForModel(
      plan.recipe.model,
      plan.recipe.maskStrategy,
      { batchSize: chunk.length, maskRatio: plan.recipe.maskRatio },
      rng,
    );
    const shape = { batchSize: chunk.length, channels, height: imgSize, width: imgSize };
    const { patchSize } = plan.recipe.model;
    const { input, targets } = recipeTensors(
      recipeBatch(plan.recipe.domainRecipe, data, shape, patchSize),
      shape,
      patchSize,
    );
    batches.push({ images: input, masks, targets });
  }
  return { batches };
}

/** Mean masked-patch loss over the validation set, weighted by batch size. */
export async function validationLoss(trainer: MaeTrainer, validation: ValidationSet): Promise<number> {
  let total = 0;
  let count = 0;
  for (const batch of validation.batches) {
    const loss = tf.tidy(() => forwardMae(trainer.model, batch.images, batch.masks, batch.targets).loss);
    total += (await loss.data())[0]! * batch.masks.batchSize; // async read: webgpu has none synchronous in Node
    loss.dispose();
    count += batch.masks.batchSize;
  }
  return total / count;
}
