/**
 * Re-fitting a probe after relabelling: the pretrained probe on the run's stored embeddings
 * (`embeddings/embedding-store.ts`, the probe's block and pooling: the studio computes them first
 * when they are missing or out of date), its random-init and raw-pixel baselines on the features
 * the probe cached (`probe-cache.ts`), all with the images' labels as they are now, fitted and
 * scored exactly as the probe was (same method, train and val images), so the accuracy before and
 * after — each with its Wilson interval — differ only by the labels. No encoder pass: seconds on
 * a few thousand images.
 */
import {
  StudioError,
  type EmbeddingRequest,
  type ProbeReport,
  type ReprobeReport,
  type ReprobeScores,
} from '../contract';
import type { Workspace } from '../workspace';
import { readEmbeddings } from './embeddings/embedding-store';
import { probeFeaturesPath, readProbeFeatures, type ProbeFeatures } from './probe-cache';
import { classificationScores } from './probe-metrics';
import type { Pooling } from './probe-model';
import { probePredictor } from './probe-predictor';
import { isVolume3dRun, typedRun } from './run-records';

/** Rows of a feature set picked by row index: [rows.length, width]. */
function pickRows(features: Float32Array, rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => out.set(features.subarray(row * width, (row + 1) * width), i * width));
  return out;
}

function beforeScores(report: ProbeReport): ReprobeScores {
  return {
    classes: report.classes,
    trainImages: report.trainImages,
    valImages: report.valImages,
    pretrained: report.pretrained,
    randomInit: report.randomInit,
    rawPixels: report.rawPixels ?? null,
  };
}

/** Labels of the cached images now (null: no label, undefined: removed from the project). */
function currentLabels(workspace: Workspace, ids: readonly number[]): (string | null | undefined)[] {
  return workspace.images
    .sources(ids)
    .map((source) => (source === undefined ? undefined : source.label === '' ? null : source.label));
}

/** Images of the probed plan labelled now whose features the probe did not compute. */
function notEncoded(workspace: Workspace, cached: ProbeFeatures, budgeted: boolean): number {
  const pretrain = typedRun(workspace.runs.get(cached.pretrainRunId));
  if (pretrain.kind !== 'pretrain') return 0;
  const encoded = new Set([...cached.train.imageIds, ...cached.val.imageIds]);
  // With a label budget most training images are left out on purpose; only val images then count.
  const planned = budgeted
    ? pretrain.config.data.valImageIds
    : [...pretrain.config.data.trainImageIds, ...pretrain.config.data.valImageIds];
  const missing = planned.filter((id) => !encoded.has(id));
  return currentLabels(workspace, missing).filter((label) => typeof label === 'string').length;
}

/** A completed probe run's record, or a clear error saying why it cannot be re-fitted. */
function completedProbe(workspace: Workspace, probeRunId: number) {
  const run = typedRun(workspace.runs.get(probeRunId));
  if (run.kind !== 'probe')
    throw new StudioError('INVALID_ARGUMENT', `run ${probeRunId} is a ${run.kind} run, not a probe`);
  if (run.status !== 'completed' || !run.result)
    throw new StudioError(
      'CONFLICT',
      `probe run ${probeRunId} has not completed (${run.status}): re-fit it once it has`,
    );
  if (isVolume3dRun(typedRun(workspace.runs.get(run.config.pretrainRunId))))
    throw new StudioError(
      'UNSUPPORTED',
      `probe run ${probeRunId} measured a 3-D MAE run on per-volume labels, which keeps no image embeddings ` +
        "to re-fit: probe the run again to use today's labels",
    );
  return { ...run, result: run.result };
}

/**
 * The stored embeddings a re-fit of the probe reads: its pretraining run's, at the block and with
 * the pooling it probed (older results without a block: the last one).
 */
export function reprobeEmbeddings(workspace: Workspace, probeRunId: number): EmbeddingRequest & { pooling: Pooling } {
  const run = completedProbe(workspace, probeRunId);
  return {
    runId: run.config.pretrainRunId,
    pooling: run.result.pooling,
    ...(run.result.block && { block: run.result.block.chosen }),
  };
}

/**
 * Re-fits a completed probe run with the current labels: the pretrained probe on the run's stored
 * embeddings (CONFLICT when they are missing or out of date: compute them first), the baselines on
 * the probe's cached features.
 */
export async function reprobe(workspace: Workspace, probeRunId: number): Promise<ReprobeReport> {
  const started = performance.now();
  const run = completedProbe(workspace, probeRunId);
  const cached = await readProbeFeatures(
    probeFeaturesPath(workspace.projectDir(run.projectId), probeRunId),
    probeRunId,
  );
  const stored = readEmbeddings(workspace, {
    runId: cached.pretrainRunId,
    block: cached.block,
    pooling: cached.pooling,
  });
  const storedRow = new Map(stored.meta.imageIds.map((id, row) => [id, row]));
  const trainCount = cached.train.imageIds.length;
  const ids = [...cached.train.imageIds, ...cached.val.imageIds];
  const labels = currentLabels(workspace, ids);
  const then = [...cached.train.labels, ...cached.val.labels].map((index) => cached.classes[index]!);
  const relabelled = labels.filter((label, row) => label !== undefined && label !== then[row]).length;

  const classes = [
    ...new Set(labels.slice(0, trainCount).filter((label): label is string => typeof label === 'string')),
  ].sort();
  if (classes.length < 2) {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `after relabelling, the probed training images ` +
        `hold ${classes.length === 0 ? 'no labels' : `only "${classes[0]}"`}: a probe needs at least two`,
    );
  }
  const index = new Map(classes.map((label, i) => [label, i]));
  const skipped = { removed: 0, unlabelled: 0, unseen: 0, unembedded: 0 };
  const rowsOf = (from: number, to: number, isVal: boolean) => {
    const rows: number[] = [];
    const truth: number[] = [];
    for (let row = from; row < to; row++) {
      const label = labels[row];
      if (label === undefined) skipped.removed += 1;
      else if (label === null) skipped.unlabelled += 1;
      else if (!index.has(label)) skipped.unseen += isVal ? 1 : 0;
      else if (!storedRow.has(ids[row]!)) skipped.unembedded += 1;
      else {
        rows.push(row);
        truth.push(index.get(label)!);
      }
    }
    return { rows, truth };
  };
  const train = rowsOf(0, trainCount, false);
  const val = rowsOf(trainCount, labels.length, true);
  if (val.rows.length === 0)
    throw new StudioError(
      'INVALID_ARGUMENT',
      'after relabelling, no probed validation image has a label the training images have',
    );

  const predict = probePredictor({ method: run.config.method, k: run.config.k }, classes.length);
  const score = (features: Float32Array, width: number, rowOf: (row: number) => number = (row) => row) =>
    classificationScores(
      val.truth,
      predict(
        pickRows(features, train.rows.map(rowOf), width),
        train.truth,
        pickRows(features, val.rows.map(rowOf), width),
        width,
      ),
      classes,
    );
  const after: ReprobeScores = {
    classes,
    trainImages: train.rows.length,
    valImages: val.rows.length,
    pretrained: score(stored.matrix.values, stored.matrix.columns, (row) => storedRow.get(ids[row]!)!),
    randomInit: score(cached.randomInit, cached.width),
    rawPixels: cached.rawWidth > 0 ? score(cached.rawPixels, cached.rawWidth) : null,
  };
  return {
    probeRunId,
    method: run.config.method,
    block: cached.block,
    embeddings: {
      runId: stored.meta.runId,
      block: stored.meta.block,
      pooling: stored.meta.pooling,
      step: stored.meta.step,
    },
    probedStep: run.result.step,
    before: beforeScores(run.result),
    after,
    relabelled,
    notEncoded: notEncoded(workspace, cached, (run.config.labelsPerClass ?? null) !== null),
    skipped: [
      ...(skipped.removed ? [{ reason: 'image removed from the project', count: skipped.removed }] : []),
      ...(skipped.unlabelled ? [{ reason: 'no label now', count: skipped.unlabelled }] : []),
      ...(skipped.unseen ? [{ reason: 'label absent from the training images', count: skipped.unseen }] : []),
      ...(skipped.unembedded
        ? [{ reason: 'no stored embedding (the image could not be read)', count: skipped.unembedded }]
        : []),
    ],
    seconds: (performance.now() - started) / 1000,
  };
}
