/**
 * Labelled images for evaluation and fine-tuning, from a pretraining run's stored plan: the
 * plan's train split to fit on, its val split to score on, the label of each image being its
 * folder name. Images are read whole (resized to the model's side, no augmentation) and
 * normalised with the plan's per-channel mean and std, exactly as the encoder saw them. A SatMAE
 * temporal run's images carry their dates (each is a one-date series to its encoder).
 */
import fs from 'node:fs';
import { StudioError } from '../contract';
import { centralWindow, decodePlanar, type ImageEntry } from '../data/batches';
import { slideEntryOf } from '../data/slide-sampling';
import { storedSliceEntries } from '../data/volumes/volume-entries';
import { Rng } from '../mae/rng';
import type { Workspace } from '../workspace';
import { resizeCrop, type PlanarImage } from '../data/augment';
import type { PretrainPlan } from './pretrain-plan';
import { imageTimestamp } from './recipes/temporal-data';

/** One labelled image of a split. */
export interface LabelledEntry extends ImageEntry {
  id: number;
  /** Index into `LabelledSplits.classes`. */
  label: number;
  /** SatMAE temporal: the image's date as its encoder reads it (a one-date series). */
  timestamp?: [number, number, number];
}

/** The train and val splits with their class names. */
export interface LabelledSplits {
  /** Sorted folder names that occur in the train split. */
  classes: string[];
  train: LabelledEntry[];
  val: LabelledEntry[];
  /** Images skipped, and why (no label; a label the train split lacks). */
  skipped: { reason: string; count: number }[];
}

/** One of the plan's images as the encoder reads it, with its id, label and (SatMAE temporal) date. */
export type PlanEntry = ImageEntry & {
  id: number;
  label: string | null;
  timestamp?: ReturnType<typeof imageTimestamp>;
};

/**
 * The plan's images `ids` as the encoder reads them (2.5-D neighbours, the central window of huge
 * images and slides), each with its id and label; throws naming an image removed or missing on disk.
 */
export function planEntries(workspace: Workspace, plan: PretrainPlan, ids: number[]): PlanEntry[] {
  // SatMAE temporal: each image is read as a one-date series, with its own date's encoding.
  const recipe = plan.recipe.domainRecipe;
  const temporal = recipe?.name === 'satmae-temporal' ? recipe : null;
  const sources = workspace.images.sources(ids).map((source, index) => {
    const id = ids[index]!;
    if (!source) throw new StudioError('NOT_FOUND', `image ${id} of the run's plan was removed from the project`);
    if (!fs.existsSync(source.path))
      throw new StudioError('NOT_FOUND', `${source.path} (image ${id}) no longer exists on disk`);
    return source;
  });
  // 2.5-D runs read each labelled slice with its neighbours, as the encoder was trained.
  const entries = storedSliceEntries(
    sources.map((source) => ({
      meta: source.meta,
      entry: {
        path: source.path,
        frame: source.frame,
        width: source.width,
        height: source.height,
        channels: source.channels,
        bitDepth: source.bitDepth,
      },
    })),
    plan.data.channelPlan?.volume,
  );
  return sources.map(
    (source, index): PlanEntry => ({
      ...entries[index]!,
      // Huge images and slides are read by their central window (slides: on tissue, at the plan's scale).
      huge: source.meta?.huge === true,
      slide: slideEntryOf(source.meta, plan.data.channelPlan?.slide),
      id: source.id,
      label: source.label,
      ...(temporal && {
        timestamp: imageTimestamp(temporal, { path: source.path, dateTime: source.meta?.dateTime }),
      }),
    }),
  );
}

/** Reads the plan's splits with their labels; throws when fewer than two classes can be told apart. */
export function labelledSplits(workspace: Workspace, plan: PretrainPlan): LabelledSplits {
  const load = (ids: number[]) => planEntries(workspace, plan, ids);
  const train = load(plan.data.trainImageIds);
  const val = load(plan.data.valImageIds);
  const classes = [
    ...new Set(train.map((row) => row.label).filter((label): label is string => label !== null && label !== '')),
  ].sort();
  if (classes.length < 2) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `evaluation needs images in at least two labelled folders; the run's training ` +
        `split has ${classes.length === 0 ? 'no labels' : `only "${classes[0]}"`}`,
    );
  }
  const index = new Map(classes.map((name, i) => [name, i]));
  let unlabelled = 0;
  let unseen = 0;
  const undated = new Map<string, number>(); // why, how many
  const keep = (rows: typeof train, isVal: boolean): LabelledEntry[] =>
    rows.flatMap((row) => {
      if (row.label === null || row.label === '') {
        unlabelled += 1;
        return [];
      }
      if (row.timestamp && !Array.isArray(row.timestamp)) {
        undated.set(row.timestamp.reason, (undated.get(row.timestamp.reason) ?? 0) + 1);
        return [];
      }
      const label = index.get(row.label);
      if (label === undefined) {
        if (isVal) unseen += 1;
        return [];
      }
      const { label: _name, timestamp, ...entry } = row;
      return [{ ...entry, label, ...(timestamp && { timestamp }) }];
    });
  const splits = { classes, train: keep(train, false), val: keep(val, true) };
  if (splits.val.length === 0)
    throw new StudioError(
      'INVALID_ARGUMENT',
      "the run's validation split holds no labelled images; plan the run with a validation fraction above 0",
    );
  const skipped = [
    ...(unlabelled ? [{ reason: 'no label (image not in a sub-folder)', count: unlabelled }] : []),
    ...(unseen ? [{ reason: 'label absent from the training split', count: unseen }] : []),
    ...[...undated].map(([reason, count]) => ({ reason, count })),
  ];
  return { ...splits, skipped };
}

/**
 * At most `perClass` entries of each label, drawn with a seeded shuffle per label and kept in
 * their split order: the same seed draws the same images, so a probe repeated — or the
 * pretrained and random-init encoders of one probe — fit on the same labelled images.
 */
export function drawLabelBudget(entries: readonly LabelledEntry[], perClass: number, seed: number): LabelledEntry[] {
  const rng = Rng.fromSeed(seed, 102);
  const chosen = new Set<LabelledEntry>();
  const labels = [...new Set(entries.map((entry) => entry.label))].sort((a, b) => a - b);
  for (const label of labels) {
    for (const entry of rng.shuffle(entries.filter((entry) => entry.label === label)).slice(0, perClass))
      chosen.add(entry);
  }
  return entries.filter((entry) => chosen.has(entry));
}

/** Whole image → [C, side, side], normalised per channel, written into `out`. */
export function prepareImage(image: PlanarImage, side: number, mean: number[], std: number[], out: Float32Array): void {
  resizeCrop(image, { top: 0, left: 0, height: image.height, width: image.width }, side, false, out);
  const plane = side * side;
  for (let c = 0; c < image.channels; c++) {
    const inverse = 1 / std[c]!;
    for (let k = c * plane; k < (c + 1) * plane; k++) out[k] = (out[k]! - mean[c]!) * inverse;
  }
}

/**
 * Decodes `entries` in batches of `batchSize`, each as planar [B, C, side, side] values, and
 * hands every batch to `use` (so a large split never sits in memory whole).
 */
export async function forEachBatch<Entry extends ImageEntry = LabelledEntry>(
  entries: readonly Entry[],
  plan: PretrainPlan,
  batchSize: number,
  use: (images: Float32Array, batch: readonly Entry[]) => void | Promise<void>,
): Promise<void> {
  const side = plan.recipe.model.imgSize;
  const size = plan.data.channels * side * side;
  // With a channel plan its transform converts and normalises each image as pretraining did.
  const { transform } = plan.data;
  const mean = transform ? transform.bands.map(() => 0) : plan.data.mean;
  const std = transform ? transform.bands.map(() => 1) : plan.data.std;
  for (let start = 0; start < entries.length; start += batchSize) {
    const batch = entries.slice(start, start + batchSize);
    const images = new Float32Array(batch.length * size);
    for (const [index, entry] of batch.entries()) {
      prepareImage(
        await decodePlanar(entry, transform, centralWindow(entry, side)),
        side,
        mean,
        std,
        images.subarray(index * size, (index + 1) * size),
      );
    }
    await use(images, batch);
  }
}
