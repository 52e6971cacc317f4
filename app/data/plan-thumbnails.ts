/**
 * Thumbnails drawn with the channel plan: each image converted to the plan's input bands as
 * training reads it (grey repeated, RGB to luminance, alpha dropped), then the chosen band
 * (grey) or three bands (RGB), each
 * between the plan's [low, high] or, where the plan leaves it open, the image's own 0.5–99.5 %
 * percentiles. Huge images keep their import thumbnail (a mosaic of sampled tiles).
 */
import path from 'node:path';
import type { ChannelPlan } from '../contract';
import type { Workspace } from '../workspace';
import { readEntry } from './batches';
import { convertRaster } from './channel-conversion';
import { keptByPlan, planImages } from './channel-plan';
import { allocateValues, rasterDisplay, summarizeRaster, type Raster } from './formats/raster';
import { writeDisplayThumbnail } from './import/thumbnail';

/** The bands `plan` shows, as a raster of one or three bands. */
export function displayBandsOf(raster: Raster, bands: readonly number[]): Raster {
  const count = raster.width * raster.height;
  const values = allocateValues(raster.sampleType, count * bands.length);
  for (let pixel = 0; pixel < count; pixel++) {
    for (let index = 0; index < bands.length; index++)
      values[pixel * bands.length + index] = raster.values[pixel * raster.bands + bands[index]!]!;
  }
  return { width: raster.width, height: raster.height, bands: bands.length, sampleType: raster.sampleType, values };
}

/** Redraws the thumbnail of every image the plan keeps (left-out ones keep theirs); returns the counts. */
export async function renderPlanThumbnails(
  workspace: Workspace,
  projectId: number,
  plan: ChannelPlan,
): Promise<{ rendered: number; failed: number }> {
  const images = keptByPlan(planImages(workspace, projectId), plan).filter((image) => !image.huge);
  let rendered = 0;
  let failed = 0;
  for (const image of images) {
    const relative = workspace.images.thumbnail(image.id)?.thumbnail;
    if (!relative) continue;
    try {
      const shown = displayBandsOf(
        convertRaster(await readEntry(image), image.conversion, plan.inputChannels),
        plan.displayBands,
      );
      const summary = summarizeRaster(shown, image.nodata ?? null);
      plan.displayRange.forEach((range, index) => {
        if (range) [summary.low[index], summary.high[index]] = range;
      });
      const display = rasterDisplay(shown, summary, undefined, image.nodata ?? null);
      await writeDisplayThumbnail(display, path.join(workspace.projectDir(projectId), relative));
      rendered++;
    } catch {
      // The file moved or changed since the import: its old thumbnail stays, and it is counted.
      failed++;
    }
  }
  return { rendered, failed };
}
