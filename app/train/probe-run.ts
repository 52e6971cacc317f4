/**
 * A probe run (`kind probe`, parent = the pretraining run): frozen features of the pretrained
 * encoder, of the same encoder at its random initialisation, and of the raw pixels, each scored
 * the same way — linear probe or kNN — fitted on the plan's train split, scored on its val
 * split, with 95 % intervals (Wilson per accuracy, paired bootstrap per gain) and warnings in
 * words. The encoder block probed is asked for or chosen on the train split (`probe-blocks.ts`);
 * both encoders read the same block. Runs in the training process; the report is the run's `result`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { StudioError, type ProbeBlock, type ProbeReport } from '../contract';
import { disposeModel, type MaeModel } from '../mae/model';
import { selectBackend } from '../runtime/backend';
import { Workspace } from '../workspace';
import { DEFAULT_BOOTSTRAP, pairedBootstrap } from './intervals';
import { chooseBlock, DEFAULT_BLOCK_SELECTION } from './probe-blocks';
import { probeFeaturesPath, stackRows, writeProbeFeatures } from './probe-cache';
import { drawLabelBudget, forEachBatch, labelledSplits, type LabelledEntry } from './probe-data';
import { encodeBlockFeatures, rawPixelFeatures } from './probe-features';
import { classificationScores } from './probe-metrics';
import { loadRunModel, randomInitModel, type Pooling } from './probe-model';
import { DEFAULT_PROBE } from './probe-plan';
import { probePredictor } from './probe-predictor';
import { probeWarnings } from './probe-warnings';
import type { PretrainPlan } from './pretrain-plan';
import { isVolume3dRun, typedRun, withRunStatus } from './run-records';
import { probeVolume3dRun } from './volume3d/probe3d-run';

export { planProbe, validateProbeOptions, DEFAULT_PROBE, type ProbeConfig, type ProbeOptions } from './probe-plan';

/** A probe's outcome (declared in the contract, which the UI shares). */
export type { ProbeReport } from '../contract';

/**
 * What a SatMAE temporal run's probe feature is. Labels belong to images (a place's cover can
 * change between dates: crops rotate, rivers flood), so each image is one series of one date, its
 * own date encoded as in pretraining (where the encoder saw about L tokens per sample, as here).
 */
export const TEMPORAL_FEATURE_UNIT =
  "each image as a one-date series: its tokens with its own date's encoding (year, month, hour), pooled";

const FEATURE_BATCH = 16; // images per encoder pass: bounded memory at any image size

/**
 * Side of the raw-pixel baseline's images: 16 × 16 = 256 features per channel, a size a linear probe fits on a few
 * hundred images.
 */
export const RAW_PIXEL_SIDE = 16;

/**
 * Features of every candidate block of the train split, both encoders, are held at once; above this "best" tries fewer
 * blocks.
 */
const CANDIDATE_FEATURE_BYTES = 1 << 30;

/** Pooled features of each encoder at each block, and the raw pixels, over a split: row-major [N, width] each. */
interface SplitFeatures {
  /** encoders[model][block index] */
  encoders: Float32Array[][];
  raw: Float32Array;
}

async function splitFeatures(
  models: MaeModel[],
  blocks: number[],
  entries: LabelledEntry[],
  plan: PretrainPlan,
  pooling: Pooling,
  rawSide: number,
): Promise<SplitFeatures> {
  const { imgSize, embedDim } = plan.recipe.model;
  const { channels } = plan.data;
  const rawWidth = channels * rawSide * rawSide;
  const encoders = models.map(() => blocks.map(() => new Float32Array(entries.length * embedDim)));
  const raw = new Float32Array(entries.length * rawWidth);
  let row = 0;
  await forEachBatch(entries, plan, FEATURE_BATCH, async (images, batch) => {
    raw.set(rawPixelFeatures(images, batch.length, channels, imgSize, rawSide), row * rawWidth);
    const imgs = tf.tensor4d(images, [batch.length, channels, imgSize, imgSize]);
    // SatMAE temporal: each image a one-date series with its own date (probe-data.ts)
    const timestamps = batch[0]?.timestamp && Float32Array.from(batch.flatMap((entry) => entry.timestamp!));
    for (const [m, model] of models.entries()) {
      const features = encodeBlockFeatures(model, imgs, pooling, blocks, timestamps);
      for (const [b, feature] of features.entries()) {
        encoders[m]![b]!.set(await feature.data(), row * embedDim); // async read: webgpu has no synchronous one in Node
        feature.dispose();
      }
    }
    imgs.dispose();
    row += batch.length;
  });
  return { encoders, raw };
}

/** Blocks "best" tries: all of them, or evenly spaced ones (always the last) when all would not fit in memory. */
function candidateBlocks(depth: number, images: number, width: number): number[] {
  const fit = Math.max(1, Math.floor(CANDIDATE_FEATURE_BYTES / (images * width * 4 * 2)));
  if (fit >= depth) return Array.from({ length: depth }, (_, i) => i + 1);
  return [...new Set(Array.from({ length: fit }, (_, i) => Math.round(depth - (i * depth) / fit)))].sort(
    (a, b) => a - b,
  );
}
/** Executes a queued probe run to its end (in the training process); the report is stored as its result. */
export async function executeProbe(
  workspaceDir: string,
  runId: number,
  log: (line: string) => void = () => {},
): Promise<ProbeReport> {
  const workspace = new Workspace(workspaceDir);
  const started = Date.now();
  let random: MaeModel | undefined;
  let loaded: Awaited<ReturnType<typeof loadRunModel>> | undefined;
  try {
    return await withRunStatus(workspace.runs, runId, async () => {
      const run = typedRun(workspace.runs.get(runId));
      if (run.kind !== 'probe')
        throw new StudioError('INVALID_ARGUMENT', `run ${runId} is a ${run.kind} run, not a probe`);
      const options = run.config;
      const selection = await selectBackend(options.backend, { log });
      workspace.runs.setStatus(runId, 'running', { backend: `${selection.backend} · ${selection.device}` });
      const parent = typedRun(workspace.runs.get(options.pretrainRunId));
      if (isVolume3dRun(parent)) {
        // Per-volume labels: one sample per volume (volume3d/probe3d-run.ts); no block choice, no reprobe cache.
        const report = await probeVolume3dRun(workspace, parent, options, log);
        workspace.runs.appendMetrics(runId, [
          { step: report.step, name: 'val_accuracy', value: report.pretrained.accuracy, time: Date.now() / 1000 },
          {
            step: report.step,
            name: 'val_accuracy_random_init',
            value: report.randomInit.accuracy,
            time: Date.now() / 1000,
          },
        ]);
        workspace.runs.setResult(runId, report);
        workspace.runs.setStatus(runId, 'completed');
        return report;
      }
      loaded = await loadRunModel(workspace, options.pretrainRunId);
      random = randomInitModel(loaded.plan);
      const { plan } = loaded;
      const { depth, embedDim: width, imgSize } = plan.recipe.model;
      const seed = plan.recipe.seed;
      // a SatMAE-temporal encoder reads each image as a one-date series and cannot be fine-tuned
      const temporal = plan.recipe.domainRecipe?.name === 'satmae-temporal';
      const splits = labelledSplits(workspace, plan);
      // Options stored before labelsPerClass or block existed read as "every label" and the default block.
      const labelsPerClass = options.labelsPerClass ?? null;
      const requested = options.block ?? DEFAULT_PROBE.block;
      if (requested !== 'best' && requested > depth)
        throw new StudioError('INVALID_ARGUMENT', `probe.block must be 1..${depth}, got ${requested}`);
      if (labelsPerClass !== null) splits.train = drawLabelBudget(splits.train, labelsPerClass, seed);
      const trainLabels = splits.train.map((entry) => entry.label);
      const valLabels = splits.val.map((entry) => entry.label);
      const numClasses = splits.classes.length;
      const rawSide = Math.min(RAW_PIXEL_SIDE, imgSize);
      const candidates = requested === 'best' ? candidateBlocks(depth, splits.train.length, width) : [requested];
      log(
        `probe: ${options.method} on ${options.pooling}-pooled features of ` +
          `${requested === 'best' ? `the best of blocks ${candidates.join(', ')}` : `block ${requested}`} ` +
          `of ${depth}, ` +
          `${splits.train.length} train${labelsPerClass === null ? '' : ` (≤ ${labelsPerClass} per class)`} ` +
          `/ ${splits.val.length} val images, ${numClasses} classes`,
      );

      const predict = probePredictor(options, numClasses);
      const models = [loaded.model, random];
      const train = await splitFeatures(models, candidates, splits.train, plan, options.pooling, rawSide);
      const choice =
        candidates.length > 1
          ? chooseBlock(
              candidates.map((block, i) => ({ block, features: train.encoders[0]![i]! })),
              trainLabels,
              width,
              predict,
              { ...DEFAULT_BLOCK_SELECTION, seed },
            )
          : { chosen: candidates[0]!, selection: null };
      const chosenIndex = candidates.indexOf(choice.chosen);
      if (choice.selection)
        log(
          `probe: block ${choice.chosen} chosen on the training split ` +
            `(${choice.selection.map((s) => `${s.block}: ${(s.accuracy * 100).toFixed(1)}%`).join(', ')})`,
        );
      const val = await splitFeatures(models, [choice.chosen], splits.val, plan, options.pooling, rawSide);

      const rawWidth = plan.data.channels * rawSide * rawSide;
      const predicted = {
        pretrained: predict(train.encoders[0]![chosenIndex]!, trainLabels, val.encoders[0]![0]!, width),
        randomInit: predict(train.encoders[1]![chosenIndex]!, trainLabels, val.encoders[1]![0]!, width),
        rawPixels: predict(train.raw, trainLabels, val.raw, rawWidth),
      };
      const right = (labels: number[]) => labels.map((label, i) => label === valLabels[i]);
      const bootstrap = { ...DEFAULT_BOOTSTRAP, seed };
      const gain = {
        randomInit: pairedBootstrap(right(predicted.pretrained), right(predicted.randomInit), bootstrap),
        rawPixels: pairedBootstrap(right(predicted.pretrained), right(predicted.rawPixels), bootstrap),
      };
      const k = options.method === 'knn' ? Math.min(options.k, trainLabels.length) : null;
      const block: ProbeBlock = {
        requested,
        chosen: choice.chosen,
        depth,
        selection: choice.selection,
        selectedBy: choice.selection
          ? `${DEFAULT_BLOCK_SELECTION.folds}-fold cross-validation ` +
            `within the ${splits.train.length} fitted training images`
          : null,
      };
      const skippedBlocks =
        requested === 'best' && candidates.length < depth
          ? [
              `Only blocks ${candidates.join(', ')} of ${depth} were tried for the best block: the ` +
                `features of every block of ${splits.train.length} images would not fit in memory.`,
            ]
          : [];
      const report: ProbeReport = {
        method: options.method,
        pooling: options.pooling,
        k,
        labelsPerClass,
        classes: splits.classes,
        excludedClasses: loaded.plan.data.excludedClasses ?? [],
        trainImages: splits.train.length,
        valImages: splits.val.length,
        step: loaded.step,
        pretrained: classificationScores(valLabels, predicted.pretrained, splits.classes),
        randomInit: classificationScores(valLabels, predicted.randomInit, splits.classes),
        rawPixels: classificationScores(valLabels, predicted.rawPixels, splits.classes),
        rawPixelSide: rawSide,
        block,
        gain,
        warnings: [
          ...probeWarnings({
            classes: splits.classes,
            trainLabels,
            valLabels,
            method: options.method,
            k,
            gain,
            // SatMAE-temporal runs cannot be fine-tuned (planFinetune says why)
            canFinetune: !temporal,
          }),
          ...skippedBlocks,
        ],
        ...(temporal && { featureUnit: TEMPORAL_FEATURE_UNIT }),
        skipped: splits.skipped,
        seconds: (Date.now() - started) / 1000,
      };
      const now = Date.now() / 1000;
      // Kept so a relabelled project can re-fit this probe in seconds (labels.reprobe).
      await writeProbeFeatures(probeFeaturesPath(workspace.projectDir(run.projectId), runId), {
        pretrainRunId: options.pretrainRunId,
        block: choice.chosen,
        pooling: options.pooling,
        classes: splits.classes,
        train: { imageIds: splits.train.map((entry) => entry.id), labels: trainLabels },
        val: { imageIds: splits.val.map((entry) => entry.id), labels: valLabels },
        width,
        rawWidth,
        pretrained: stackRows(train.encoders[0]![chosenIndex]!, val.encoders[0]![0]!),
        randomInit: stackRows(train.encoders[1]![chosenIndex]!, val.encoders[1]![0]!),
        rawPixels: stackRows(train.raw, val.raw),
      });
      workspace.runs.appendMetrics(runId, [
        { step: loaded.step, name: 'val_accuracy', value: report.pretrained.accuracy, time: now },
        { step: loaded.step, name: 'val_accuracy_random_init', value: report.randomInit.accuracy, time: now },
        { step: loaded.step, name: 'val_accuracy_raw_pixels', value: report.rawPixels!.accuracy, time: now },
      ]);
      workspace.runs.setResult(runId, report);
      workspace.runs.setStatus(runId, 'completed');
      return report;
    });
  } finally {
    if (random) disposeModel(random);
    loaded?.dispose();
    workspace.close();
  }
}
