/**
 * Computes a project's embeddings with a run's encoder: every good image, read whole as the
 * probe reads it (resized to the model's side, normalised as pretraining normalised it, huge
 * images by their central window), through the encoder with every patch visible, read after the
 * chosen block and pooled (`encodeBlockFeatures`; the last block is the exported encoder's
 * `features` exactly). An image that cannot be read is recorded with its reason and the rest go on.
 * A SatMAE temporal run's encoder reads each image as a one-date series with its own date's
 * encoding; an image without a date is recorded as skipped, saying so.
 */
import * as tf from '@tensorflow/tfjs-core';
import { centralWindow, decodePlanar, type ImageEntry } from '../../data/batches';
import { slideEntryOf } from '../../data/slide-sampling';
import { selectBackend } from '../../runtime/backend';
import { prepareImage } from '../probe-data';
import { encodeBlockFeatures } from '../probe-features';
import { imageTimestamp } from '../recipes/temporal-data';
import { loadRunModel } from '../probe-model';
import type { PretrainPlan } from '../pretrain-plan';
import type { Workspace } from '../../workspace';
import type { EmbeddableImage, EmbeddingMeta, EmbeddingTarget } from './embedding-store';
import type { Matrix } from './npy';

/** Defaults of an embedding job. */
export const DEFAULT_EMBEDDING_JOB = {
  batchSize: 8, // images per encoder pass: bounded memory, and the process answers calls between passes
};

/** Options of `computeEmbeddings`. */
export interface ComputeOptions {
  /** After each batch: images done (embedded or skipped) of the total. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  batchSize?: number;
  /** Switch a process on the `cpu` backend to `native` first (default true). */
  preferNative?: boolean;
}

/**
 * The studio process computes on whatever TF.js backend it has; plain `cpu` (JavaScript kernels)
 * is some 50 times slower than the `native` addon (measured: 1.2 s for 8 images of 32 px through
 * a 2-block ViT-Tiny on cpu), so a process still on `cpu` switches to `native` when it loads.
 * Returns the backend in use.
 */
export async function preferNativeBackend(): Promise<string> {
  const current = await tf.ready().then(
    () => tf.getBackend(),
    () => null,
  ); // null: no backend registered yet
  if (current !== null && current !== 'cpu') return current;
  try {
    return (await selectBackend('native', { log: () => {} })).tfBackend;
  } catch {
    // the addon is not built here: the JavaScript kernels
    return (await selectBackend('cpu', { log: () => {} })).tfBackend;
  }
}

/** The entry the decoder reads for an image. */
function imageEntry(image: EmbeddableImage): ImageEntry {
  return {
    path: image.path,
    frame: image.frame,
    width: image.width,
    height: image.height,
    channels: image.channels,
    bitDepth: image.bitDepth,
    huge: image.meta?.huge === true,
    nodata: image.meta?.nodata ?? null,
  };
}

/** An image as the encoder takes it, [C, side, side] into `out`; throws naming the file when it cannot be read. */
export async function readForEncoder(image: EmbeddableImage, plan: PretrainPlan, out: Float32Array): Promise<void> {
  const side = plan.recipe.model.imgSize;
  const { transform } = plan.data;
  if (!transform && image.channels !== plan.data.channels)
    throw new Error(`${image.channels} channels; the run was trained on ${plan.data.channels}`);
  // A slide is embedded by its central window on tissue at the plan's scale, as it was trained.
  const entry = { ...imageEntry(image), slide: slideEntryOf(image.meta ?? null, plan.data.channelPlan?.slide) };
  const planar = await decodePlanar(entry, transform, centralWindow(entry, side));
  // With a channel plan its transform has already converted and normalised the values.
  const mean = transform ? transform.bands.map(() => 0) : plan.data.mean;
  const std = transform ? transform.bands.map(() => 1) : plan.data.std;
  prepareImage(planar, side, mean, std, out);
}

/** Embeds the target's images; resolves with the meta and matrix to store. */
export async function computeEmbeddings(
  workspace: Workspace,
  target: EmbeddingTarget,
  options: ComputeOptions = {},
): Promise<{ meta: EmbeddingMeta; matrix: Matrix }> {
  const started = Date.now();
  if (options.preferNative !== false) await preferNativeBackend();
  const loaded = await loadRunModel(workspace, target.key.runId);
  try {
    const { plan, model } = loaded;
    const side = plan.recipe.model.imgSize;
    const width = plan.recipe.model.embedDim;
    const channels = plan.data.channels;
    const size = channels * side * side;
    const batchSize = options.batchSize ?? DEFAULT_EMBEDDING_JOB.batchSize;
    const rows: Float32Array[] = [];
    const imageIds: number[] = [];
    const skipped: EmbeddingMeta['skipped'] = [];
    // SatMAE temporal: each image is a one-date series with its own date's encoding (no date: skipped, saying why).
    const recipe = plan.recipe.domainRecipe;
    const temporal = recipe?.name === 'satmae-temporal' ? recipe : null;
    let done = 0;
    for (let start = 0; start < target.images.length; start += batchSize) {
      if (options.signal?.aborted) throw new Error('embedding cancelled');
      const batch = target.images.slice(start, start + batchSize);
      const pixels = new Float32Array(batch.length * size);
      const read: EmbeddableImage[] = [];
      const timestamps: number[] = [];
      for (const image of batch) {
        try {
          const timestamp = temporal && imageTimestamp(temporal, { path: image.path, dateTime: image.meta?.dateTime });
          if (timestamp && !Array.isArray(timestamp)) throw new Error(timestamp.reason);
          await readForEncoder(image, plan, pixels.subarray(read.length * size, (read.length + 1) * size));
          read.push(image);
          if (timestamp) timestamps.push(...timestamp);
        } catch (error) {
          skipped.push({
            imageId: image.id,
            path: image.path,
            reason: error instanceof Error ? error.message : String(error),
          });
        }
      }
      if (read.length > 0) {
        const imgs = tf.tensor4d(pixels.subarray(0, read.length * size), [read.length, channels, side, side]);
        const dates = temporal ? Float32Array.from(timestamps) : undefined;
        const [features] = encodeBlockFeatures(model, imgs, target.key.pooling, [target.key.block], dates);
        imgs.dispose();
        rows.push((await features!.data()) as Float32Array); // async read: webgpu has no synchronous one in Node
        features!.dispose();
        imageIds.push(...read.map((image) => image.id));
      }
      done += batch.length;
      options.onProgress?.(done, target.images.length);
      await new Promise((resolve) => setImmediate(resolve)); // let the process answer calls between passes
    }
    const values = new Float32Array(imageIds.length * width);
    let offset = 0;
    for (const row of rows) {
      values.set(row, offset);
      offset += row.length;
    }
    const meta: EmbeddingMeta = {
      format: 'mae-studio-embeddings',
      version: 1,
      ...target.key,
      fingerprint: target.fingerprint,
      step: loaded.step,
      imageIds,
      width,
      createdAt: new Date().toISOString(),
      seconds: (Date.now() - started) / 1000,
      skipped,
    };
    return { meta, matrix: { rows: imageIds.length, columns: width, values } };
  } finally {
    loaded.dispose();
  }
}
