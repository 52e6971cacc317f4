/**
 * What a pretraining run trains on: its training images prepared into the project's decoded
 * cache (`data/cache/`; read from their files only when missing or changed), then a loader that
 * assembles batches on a worker thread ahead of the step. `cache: false` reads every sample from
 * its file (the same pixels, decoded again whenever the in-memory budget runs out).
 */
import type { ImageEntry } from '../data/batches';
import { prepareTrainingCache, type PrepareProgress } from '../data/cache/prepare';
import { normalisationOf, storedSide } from '../data/cache/prepared';
import { trainingLoader, type TrainingLoader } from '../data/cache/loader';
import type { PretrainPlan } from './pretrain-plan';

/** Options of `openTrainingData`. */
export interface TrainingDataOptions {
  projectDir: string;
  plan: PretrainPlan;
  entries: ImageEntry[];
  /** Use the decoded cache (default true). */
  cache?: boolean;
  onPrepare?: (progress: PrepareProgress) => void;
  signal?: AbortSignal;
}

/** A run's loader and how its data was prepared. */
export interface TrainingData {
  loader: TrainingLoader;
  /** Null without the cache. */
  prepared: PrepareProgress | null;
}

/** Prepares (or reuses) the cache for a run's training images and opens their loader. */
export async function openTrainingData(options: TrainingDataOptions): Promise<TrainingData> {
  const { plan, entries } = options;
  const { imgSize } = plan.recipe.model;
  const side = storedSide(imgSize);
  const transform = plan.data.transform;
  const bitDepths = new Set(entries.map((entry) => entry.bitDepth));
  if (!transform && bitDepths.size > 1) {
    throw new Error(
      `this run was planned before channel plans and mixes ${[...bitDepths].join(' and ')}-bit images; start a new run`,
    );
  }
  const normalisation = normalisationOf(transform, entries[0]?.bitDepth ?? 8, plan.data.mean, plan.data.std);
  if (normalisation.inverse.some((inverse) => !(Number.isFinite(inverse) && inverse > 0))) {
    throw new Error(
      `the run's normalisation has a spread that is not ` +
        `positive: ${JSON.stringify(transform?.spread ?? plan.data.std)}`,
    );
  }
  let prepared: PrepareProgress | null = null;
  let records;
  if (options.cache !== false) {
    const cache = await prepareTrainingCache({
      projectDir: options.projectDir,
      entries,
      side,
      ...(transform && { transform }),
      ...(options.onPrepare && { onProgress: options.onPrepare }),
      ...(options.signal && { signal: options.signal }),
    });
    prepared = cache.progress;
    records = cache.records;
  }
  const loader = trainingLoader({
    entries,
    imgSize,
    side,
    normalisation,
    ...(transform && { transform }),
    ...(records && { records }),
  });
  return { loader, prepared };
}
