/**
 * A plan-time look at what the norm-pix loss will ask for. With `normPixLoss` every patch's
 * target is its pixels minus their mean over √(variance + 1e-6) (He et al., §A.1): a patch whose
 * pixels are all alike — small images upscaled far (8×8 digits at 32 px, patch 4), empty
 * background — has a target of ~0, and a run where most patches are so learns nothing while its
 * loss looks excellent (0.04 on such digits). This reads a sample of the run's training images as
 * the encoder will see them (whole image, resized to the model's side, normalised) and counts the
 * patches whose variance is below the loss's own epsilon, so the dialog and the CLI can say so.
 */
import type { Workspace } from '../workspace';
import type { ImageEntry } from '../data/batches';
import { forEachBatch, planEntries } from './probe-data';
import type { PretrainPlan } from './pretrain-plan';

/** The norm-pix loss's epsilon: below it a patch's normalised target carries under half its unit variance. */
export const FLAT_PATCH_VARIANCE = 1e-6;

/** Settings of the check. */
export const DEFAULT_FLAT_CHECK = {
  sampleImages: 16, // evenly spaced over the train split: a few hundred patches at any size
  warnShare: 0.5, // "most patches": above half, the loss is mostly about nothing
};

/** Patches of a sample and how many of them are flat. */
export interface FlatPatchCount {
  patches: number;
  flat: number;
}

/**
 * Counts flat patches of planar images [B, C, side, side]: a patch is its C·p·p values (as the
 * loss sees them), flat when their unbiased variance is below `threshold`.
 */
export function countFlatPatches(
  images: Float32Array,
  batchSize: number,
  channels: number,
  side: number,
  patchSize: number,
  threshold = FLAT_PATCH_VARIANCE,
): FlatPatchCount {
  if (side % patchSize !== 0) throw new Error(`countFlatPatches: side ${side} is not a multiple of ${patchSize}`);
  if (images.length !== batchSize * channels * side * side)
    throw new Error(`countFlatPatches: ${images.length} values for ${batchSize}×${channels}×${side}×${side}`);
  const perSide = side / patchSize;
  const length = channels * patchSize * patchSize;
  let flat = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let py = 0; py < perSide; py++) {
      for (let px = 0; px < perSide; px++) {
        let sum = 0;
        let squares = 0;
        for (let c = 0; c < channels; c++) {
          const plane = (b * channels + c) * side * side;
          for (let y = py * patchSize; y < (py + 1) * patchSize; y++) {
            for (let x = px * patchSize; x < (px + 1) * patchSize; x++) {
              const value = images[plane + y * side + x]!;
              sum += value;
              squares += value * value;
            }
          }
        }
        const mean = sum / length;
        const variance = Math.max(0, squares / length - mean * mean) * (length / Math.max(1, length - 1));
        if (variance < threshold) flat += 1;
      }
    }
  }
  return { patches: batchSize * perSide * perSide, flat };
}

/** The flat share of `entries` read at `imgSize` and cut into patches of `patchSize`. */
async function flatShare(
  entries: ImageEntry[],
  plan: PretrainPlan,
  imgSize: number,
  patchSize: number,
): Promise<FlatPatchCount> {
  const total: FlatPatchCount = { patches: 0, flat: 0 };
  const atSize = { ...plan, recipe: { ...plan.recipe, model: { ...plan.recipe.model, imgSize } } };
  await forEachBatch(entries, atSize, 8, (images, batch) => {
    const counted = countFlatPatches(images, batch.length, plan.data.channels, imgSize, patchSize);
    total.patches += counted.patches;
    total.flat += counted.flat;
  });
  return total;
}

const percent = (count: FlatPatchCount) => `${Math.round((count.flat / count.patches) * 100)}%`;

/**
 * The words to show when most patches of the plan's training images would be flat under the
 * norm-pix loss, with what to change (and the flat share each change gives on the same images);
 * null when the loss is off, the images are fine, or the recipe reads its images another way
 * (SatMAE temporal reads places, not single images).
 */
export async function flatPatchWarning(
  workspace: Workspace,
  plan: PretrainPlan,
  settings = DEFAULT_FLAT_CHECK,
): Promise<string | null> {
  const { normPixLoss, imgSize, patchSize } = plan.recipe.model;
  if (!normPixLoss || plan.recipe.domainRecipe?.name === 'satmae-temporal') return null;
  const ids = plan.data.trainImageIds;
  if (ids.length === 0) return null;
  const count = Math.min(settings.sampleImages, ids.length);
  const sample = Array.from({ length: count }, (_, i) => ids[Math.floor((i * ids.length) / count)]!);
  const entries = planEntries(workspace, plan, sample);
  const found = await flatShare(entries, plan, imgSize, patchSize);
  if (found.flat / found.patches <= settings.warnShare) return null;
  // A patch covers more of the image's own detail when it is larger or the image is brought to a smaller size.
  const options: string[] = [];
  if (imgSize % (patchSize * 2) === 0)
    options.push(
      `a larger patch (${patchSize * 2}: ${percent(await flatShare(entries, plan, imgSize, patchSize * 2))} flat)`,
    );
  const half = imgSize / 2;
  if (Number.isInteger(half) && half % patchSize === 0 && half / patchSize >= 2)
    options.push(`a smaller image size (${half} px: ${percent(await flatShare(entries, plan, half, patchSize))} flat)`);
  options.push('norm-pix loss off (the target is then the pixels themselves)');
  return (
    `${percent(found)} of the ${found.patches} patches of ${count} training images are flat at ${imgSize} px ` +
    `with patch ${patchSize}: with norm-pix loss on, their target is ~0, so the run would learn little while ` +
    `its loss looks low. Try ${options.join(', or ')}.`
  );
}
