/**
 * Which images a pretraining run reads, as the batch sources need them: the plan's train and
 * validation images (volumes cut into planes, slides sampled on tissue), checked to still exist,
 * and a SatMAE temporal run's places, T dates per sample. The run (`pretrain-run.ts`) and the
 * warm-up estimate (`estimate.ts`) read them the same way.
 */
import fs from 'node:fs';
import { StudioError } from '../contract';
import type { ImageEntry } from '../data/batches';
import type { BatchSource } from '../data/batch';
import { seriesBatchSource } from '../data/series-batches';
import { slideEntryOf } from '../data/slide-sampling';
import { volumeEntries, type VolumeRow } from '../data/volumes/volume-entries';
import type { Workspace } from '../workspace';
import type { PretrainPlan } from './pretrain-plan';
import type { DomainRecipeConfig } from './recipes/domain-recipes';
import { trainingPlaces } from './recipes/temporal-data';

/** Validation images at most: enough for a stable loss, cheap enough to run every epoch. */
const MAX_VALIDATION_IMAGES = 64;

/** The run's train and validation images, as the batch source needs them. */
export function imageEntries(workspace: Workspace, plan: PretrainPlan): { train: ImageEntry[]; val: ImageEntry[] } {
  const sampling = plan.data.channelPlan?.volume;
  const load = (ids: number[]) => {
    const rows = workspace.images.sources(ids).map((row, index): VolumeRow => {
      const id = ids[index]!;
      if (!row)
        throw new StudioError('NOT_FOUND', `image ${id} of this run was removed from the project; start a new run`);
      if (!fs.existsSync(row.path))
        throw new StudioError('NOT_FOUND', `${row.path} (image ${id}) no longer exists on disk`);
      const { meta } = row;
      return {
        meta,
        entry: {
          path: row.path,
          sha256: row.sha256,
          frame: row.frame,
          width: row.width,
          height: row.height,
          channels: row.channels,
          bitDepth: row.bitDepth,
          huge: meta?.huge === true,
          nodata: meta?.nodata ?? null,
          // Slides: windows on tissue at the plan's microns per pixel.
          slide: slideEntryOf(meta, plan.data.channelPlan?.slide),
        },
      };
    });
    // Volumes become planes along the plan's axis, with 2.5-D neighbours (absent: stored slices).
    return sampling ? volumeEntries(rows, sampling) : rows.map((row) => row.entry);
  };
  // Planes of volumes outnumber their rows: validation takes evenly spaced ones, not one volume's edge.
  const val = sampling
    ? evenlySpaced(load(plan.data.valImageIds), MAX_VALIDATION_IMAGES)
    : load(plan.data.valImageIds.slice(0, MAX_VALIDATION_IMAGES));
  return { train: load(plan.data.trainImageIds), val };
}

/** At most `count` items of a list, evenly spaced, in order. */
export function evenlySpaced<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, index) => items[Math.floor((index * items.length) / count)]!);
}

/** A SatMAE temporal run's images (train and val splits: places are held out whole instead) and their entries. */
export function temporalImages(
  workspace: Workspace,
  plan: PretrainPlan,
): { imageIds: number[]; entries: ImageEntry[] } {
  if (!plan.data.transform || plan.data.channelPlan?.volume)
    throw new StudioError('INVALID_ARGUMENT', 'a SatMAE temporal run needs a channel plan of 2-D images (no volumes)');
  const imageIds = [...plan.data.trainImageIds, ...plan.data.valImageIds];
  const data = { ...plan.data, trainImageIds: imageIds, valImageIds: [] };
  return { imageIds, entries: imageEntries(workspace, { ...plan, data }).train };
}

/** A SatMAE temporal run's batches: its training places (every date), T dates per sample. */
export function temporalSource(
  workspace: Workspace,
  plan: PretrainPlan,
  recipe: Extract<DomainRecipeConfig, { name: 'satmae-temporal' }>,
): BatchSource {
  const { imageIds, entries } = temporalImages(workspace, plan);
  return seriesBatchSource({
    places: trainingPlaces(workspace, imageIds, entries, recipe),
    frames: recipe.frames,
    imgSize: plan.recipe.model.imgSize,
    transform: plan.data.transform!,
  });
}
