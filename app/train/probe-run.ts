/**
 * A probe run (`kind probe`, parent = the pretraining run): frozen features of the pretrained
 * encoder and of the same encoder at its random initialisation, each scored the same way —
 * linear probe or kNN — fitted on the plan's train split, scored on its val split. Runs in the
 * training process; the report is the run's `result`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { StudioError, type ProbeReport } from '../contract';
import { disposeModel, type MaeModel } from '../mae/model';
import { selectBackend } from '../runtime/backend';
import { Workspace } from '../workspace';
import { DEFAULT_KNN, knnPredict } from './knn';
import { DEFAULT_LINEAR_PROBE, fitLinearProbe, probeLogits } from './probe';
import { drawLabelBudget, forEachBatch, labelledSplits, type LabelledEntry } from './probe-data';
import { encodeFeatures } from './probe-features';
import { argmaxRows, classificationScores, type ClassificationScores } from './probe-metrics';
import { loadRunModel, randomInitModel, type Pooling } from './probe-model';
import type { PretrainPlan } from './pretrain-plan';
import type { ProbeConfig } from './probe-plan';

export { planProbe, validateProbeOptions, DEFAULT_PROBE, type ProbeConfig, type ProbeOptions } from './probe-plan';

/** A probe's outcome (declared in the contract, which the UI shares). */
export type { ProbeReport } from '../contract';

const FEATURE_BATCH = 16; // images per encoder pass: bounded memory at any image size

/** Pooled features of both encoders over a split: row-major [N, D] each. */
async function splitFeatures(models: MaeModel[], entries: LabelledEntry[], plan: PretrainPlan, pooling: Pooling): Promise<Float32Array[]> {
  const { imgSize, embedDim } = plan.recipe.model;
  const out = models.map(() => new Float32Array(entries.length * embedDim));
  let row = 0;
  await forEachBatch(entries, plan, FEATURE_BATCH, async (images, batch) => {
    const imgs = tf.tensor4d(images, [batch.length, plan.data.channels, imgSize, imgSize]);
    for (const [m, model] of models.entries()) {
      const features = encodeFeatures(model, imgs, pooling);
      out[m]!.set(await features.data(), row * embedDim); // async read: webgpu has no synchronous one in Node
      features.dispose();
    }
    imgs.dispose();
    row += batch.length;
  });
  return out;
}

/** Scores features with the chosen method: fit on train, predict val. */
function score(options: ProbeConfig, train: Float32Array, val: Float32Array, trainLabels: number[], valLabels: number[], width: number, classes: string[]): ClassificationScores {
  const predicted = options.method === 'knn'
    ? knnPredict(train, trainLabels, val, width, classes.length, { ...DEFAULT_KNN, k: options.k })
    : argmaxRows(probeLogits(fitLinearProbe(train, trainLabels, width, classes.length, DEFAULT_LINEAR_PROBE), val), classes.length);
  return classificationScores(valLabels, predicted, classes);
}

/** Executes a queued probe run to its end (in the training process); the report is stored as its result. */
export async function executeProbe(workspaceDir: string, runId: number, log: (line: string) => void = () => {}): Promise<ProbeReport> {
  const workspace = new Workspace(workspaceDir);
  const started = Date.now();
  let random: MaeModel | undefined;
  let loaded: Awaited<ReturnType<typeof loadRunModel>> | undefined;
  try {
    const run = workspace.runs.get(runId);
    if (run.kind !== 'probe') throw new StudioError('INVALID_ARGUMENT', `run ${runId} is a ${run.kind} run, not a probe`);
    const options = run.config as ProbeConfig;
    const selection = await selectBackend(options.backend, { log });
    workspace.runs.setStatus(runId, 'running', { backend: `${selection.backend} · ${selection.device}` });
    loaded = await loadRunModel(workspace, options.pretrainRunId);
    random = randomInitModel(loaded.plan);
    const splits = labelledSplits(workspace, loaded.plan);
    // Options stored before labelsPerClass existed read as "every label".
    const labelsPerClass = options.labelsPerClass ?? null;
    if (labelsPerClass !== null) splits.train = drawLabelBudget(splits.train, labelsPerClass, loaded.plan.recipe.seed);
    log(`probe: ${options.method} on ${options.pooling}-pooled features, ${splits.train.length} train${labelsPerClass === null ? '' : ` (≤ ${labelsPerClass} per class)`} / ${splits.val.length} val images, ${splits.classes.length} classes`);
    const [trainPretrained, trainRandom] = await splitFeatures([loaded.model, random], splits.train, loaded.plan, options.pooling);
    const [valPretrained, valRandom] = await splitFeatures([loaded.model, random], splits.val, loaded.plan, options.pooling);
    const trainLabels = splits.train.map((entry) => entry.label);
    const valLabels = splits.val.map((entry) => entry.label);
    const width = loaded.plan.recipe.model.embedDim;
    const report: ProbeReport = {
      method: options.method,
      pooling: options.pooling,
      k: options.method === 'knn' ? Math.min(options.k, trainLabels.length) : null,
      labelsPerClass,
      classes: splits.classes,
      trainImages: splits.train.length,
      valImages: splits.val.length,
      step: loaded.step,
      pretrained: score(options, trainPretrained!, valPretrained!, trainLabels, valLabels, width, splits.classes),
      randomInit: score(options, trainRandom!, valRandom!, trainLabels, valLabels, width, splits.classes),
      skipped: splits.skipped,
      seconds: (Date.now() - started) / 1000,
    };
    const now = Date.now() / 1000;
    workspace.runs.appendMetrics(runId, [
      { step: loaded.step, name: 'val_accuracy', value: report.pretrained.accuracy, time: now },
      { step: loaded.step, name: 'val_accuracy_random_init', value: report.randomInit.accuracy, time: now },
    ]);
    workspace.runs.setResult(runId, report);
    workspace.runs.setStatus(runId, 'completed');
    return report;
  } catch (error) {
    try {
      workspace.runs.setStatus(runId, 'failed', { error: error instanceof Error ? error.message : String(error) });
    } catch {
      // a wrong id: the original error says so
    }
    throw error;
  } finally {
    if (random) disposeModel(random);
    loaded?.dispose();
    workspace.close();
  }
}
