/**
 * One fine-tuning of one encoder: a new linear head on the encoder, both trained on the train
 * split with augmentation, layer-wise lr decay, drop path and label smoothing, then scored on the
 * val split. A fine-tuning run calls it for the pretrained encoder and, with the same config and
 * seed — so the same batches, crops and drop-path draws —, for the same encoder at its random
 * initialisation: the one difference between the two is where the weights started.
 */
import * as tf from '@tensorflow/tfjs-core';
import { augment, DEFAULT_AUGMENT, type AugmentOptions, type PlanarImage } from '../data/augment';
import { decodePlanar } from '../data/batches';
import type { MaeModel } from '../mae/model';
import { RNG_STREAMS, Rng } from '../mae/rng';
import { AdamW } from './adamw';
import { classifierLogits, labelSmoothedLoss, layerLrScale, layerOf } from './finetune-model';
import type { FinetunePlan } from './finetune-plan';
import { forEachBatch, type LabelledEntry, type LabelledSplits } from './probe-data';
import { encodeAllPatches, poolTokens } from './probe-features';
import { argmaxRows, classificationScores, type ClassificationScores } from './probe-metrics';
import type { PretrainPlan } from './pretrain-plan';
import { DEFAULT_LINEAR_PROBE, fitLinearProbe } from './probe';
import { learningRateAt, peakLearningRate } from './schedule';

const HEAD_INIT_STD = 2e-5; // MAE main_finetune: trunc_normal_(head.weight, std=2e-5)

/** A linear head [D, K] + [K]. */
export interface ClassifierHead {
  weight: tf.Variable;
  bias: tf.Variable;
}

/** What one fine-tuning of one encoder hands back; `head` belongs to the caller (dispose it). */
export interface ClassifierOutcome {
  status: 'completed' | 'stopped' | 'failed';
  reason?: string;
  steps: number;
  lastLoss: number | null;
  head: ClassifierHead;
  /** Val-split scores at the end (null when it failed before any). */
  scores: ClassificationScores | null;
  /** The predicted class of every val image, in split order (the pairing of the gains). */
  predicted:
    | number[]
    | null /** With a probe-started head: the classifier before any step (the linear probe), scored the same way. */;
  start: { scores: ClassificationScores; predicted: number[] } | null;
}

/** How the caller hears a step, and where it stops. */
export interface ClassifierHooks {
  signal?: AbortSignal;
  /** Validation passes during training (the last at the end); 1 = only at the end. */
  evaluations: number;
  onStep: (step: number, loss: number, lr: number, msPerStep: number) => void;
  onEvaluation?: (step: number, scores: ClassificationScores) => void;
}

/** Val-split predictions and scores of encoder + head (no drop path: the app/mae encoder on all patches). */
export async function evaluateClassifier(
  model: MaeModel,
  plan: PretrainPlan,
  head: ClassifierHead,
  entries: LabelledEntry[],
  classes: string[],
  pooling: FinetunePlan['pooling'],
): Promise<{ scores: ClassificationScores; predicted: number[] }> {
  const predicted: number[] = [];
  const side = plan.recipe.model.imgSize;
  await forEachBatch(entries, plan, 16, async (images, batch) => {
    const logits = tf.tidy(() => {
      const imgs = tf.tensor4d(images, [batch.length, plan.data.channels, side, side]);
      // [B, K]
      return tf.add(tf.matMul(poolTokens(encodeAllPatches(model, imgs), pooling), head.weight), head.bias);
    });
    // async read: webgpu has none synchronous in Node
    predicted.push(...argmaxRows(await logits.data(), classes.length));
    logits.dispose();
  });
  const labels = entries.map((entry) => entry.label);
  return { scores: classificationScores(labels, predicted, classes), predicted };
}

/**
 * The head LP-FT starts from (Kumar et al. 2022, "Fine-Tuning can Distort Pretrained Features"):
 * the probe's linear model fitted on the encoder's frozen, pooled last-block features of the train
 * split (no augmentation), its standardisation folded into the weights — W' = diag(1/σ)·W,
 * b' = b − (μ/σ)·W —, so the classifier starts at the probe's accuracy instead of at chance.
 */
export async function linearProbeHead(
  model: MaeModel,
  plan: PretrainPlan,
  splits: LabelledSplits,
  pooling: FinetunePlan['pooling'],
): Promise<{ weight: Float32Array; bias: Float32Array }> {
  const { embedDim: width, imgSize } = model.config;
  const numClasses = splits.classes.length;
  const features = new Float32Array(splits.train.length * width);
  let row = 0;
  await forEachBatch(splits.train, plan, 16, async (images, batch) => {
    const pooled = tf.tidy(() =>
      poolTokens(
        encodeAllPatches(model, tf.tensor4d(images, [batch.length, plan.data.channels, imgSize, imgSize])),
        pooling,
      ),
    );
    features.set(await pooled.data(), row * width); // async read: webgpu has none synchronous in Node
    pooled.dispose();
    row += batch.length;
  });
  const probe = fitLinearProbe(
    features,
    splits.train.map((entry) => entry.label),
    width,
    numClasses,
    DEFAULT_LINEAR_PROBE,
  );
  const weight = new Float32Array(width * numClasses);
  const bias = Float32Array.from(probe.bias);
  for (let d = 0; d < width; d++) {
    for (let k = 0; k < numClasses; k++) {
      const w = probe.weight[d * numClasses + k]! * probe.inverseStd[d]!; // [D, K]
      weight[d * numClasses + k] = w;
      bias[k]! -= probe.mean[d]! * w;
    }
  }
  return { weight, bias };
}

/**
 * The crops and flips of a fine-tune: the config's, read as the paper's (crops of 20–100%, flips
 * half the time) where a stored config predates them. Whole-image crops keep the image's aspect.
 */
export function finetuneAugmentation(config: FinetunePlan): AugmentOptions {
  const cropScale = config.cropScale ?? DEFAULT_AUGMENT.scale[0];
  return {
    scale: [cropScale, 1],
    ratio: cropScale >= 1 ? [1, 1] : DEFAULT_AUGMENT.ratio,
    flipProbability: config.flipProbability ?? DEFAULT_AUGMENT.flipProbability,
  };
}

/** Fine-tunes `model` (its encoder variables are trained in place) with a new head; see the file's header. */
export async function trainClassifier(
  model: MaeModel,
  plan: PretrainPlan,
  splits: LabelledSplits,
  config: FinetunePlan,
  hooks: ClassifierHooks,
): Promise<ClassifierOutcome> {
  const { depth, embedDim, imgSize } = model.config;
  const numClasses = splits.classes.length;
  const initRng = Rng.fromSeed(config.seed, RNG_STREAMS.init);
  // Configs stored before the option existed read as the paper's head (near-zero).
  const start =
    (config.linearProbeInit ?? false)
      ? await linearProbeHead(model, plan, splits, config.pooling)
      : {
          weight: Float32Array.from({ length: embedDim * numClasses }, () => HEAD_INIT_STD * initRng.normal()),
          bias: new Float32Array(numClasses),
        };
  const head: ClassifierHead = {
    weight: tf.variable(tf.tensor2d(start.weight, [embedDim, numClasses]), true),
    bias: tf.variable(tf.tensor1d(start.bias), true),
  };
  const trainable = new Map<string, tf.Variable>(
    [...model.params].filter(([name]) => !name.startsWith('decoder_') && name !== 'mask_token'),
  );
  trainable.set('head.weight', head.weight);
  trainable.set('head.bias', head.bias);
  const groups = new Map<number, Map<string, tf.Variable>>();
  for (const [name, variable] of trainable) {
    const layer = layerOf(name, depth);
    groups.set(layer, (groups.get(layer) ?? new Map()).set(name, variable));
  }
  // torch AdamW defaults, as main_finetune
  const adamw = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: config.weightDecay };
  const groupOptimizers = [...groups].map(([, params]) => ({
    params,
    optimizer: new AdamW(params, adamw),
    scale: layerLrScale([...params.keys()][0]!, depth, config.layerDecay),
  }));
  const schedule = {
    peakLr: peakLearningRate(config.lrRule ?? 'linear', config.blr, config.batchSize),
    minLr: config.minLr,
    warmupSteps: config.warmupSteps,
    totalSteps: config.steps,
  };
  const augmentation = finetuneAugmentation(config);
  const dataRng = Rng.fromSeed(config.seed, RNG_STREAMS.data);
  const dropRng = Rng.fromSeed(config.seed, RNG_STREAMS.mask);
  const cache = new Map<string, PlanarImage>();
  // With a channel plan its transform converts and normalises each image as pretraining did.
  const { transform } = plan.data;
  const load = async (entry: LabelledEntry) =>
    cache.get(entry.path) ?? cache.set(entry.path, await decodePlanar(entry, transform)).get(entry.path)!;
  const channels = plan.data.channels;
  const plane = imgSize * imgSize;
  const evaluateEvery = Math.max(1, Math.floor(config.steps / hooks.evaluations));
  const names = [...trainable.keys()];
  const variables = [...trainable.values()];
  const outcome: ClassifierOutcome = {
    status: 'completed',
    steps: 0,
    lastLoss: null,
    head,
    scores: null,
    predicted: null,
    start: null,
  };
  const score = async () => {
    const evaluated = await evaluateClassifier(model, plan, head, splits.val, splits.classes, config.pooling);
    outcome.scores = evaluated.scores;
    outcome.predicted = evaluated.predicted;
    hooks.onEvaluation?.(outcome.steps, evaluated.scores);
  };
  try {
    if (config.linearProbeInit)
      outcome.start = await evaluateClassifier(model, plan, head, splits.val, splits.classes, config.pooling);
    while (outcome.steps < config.steps) {
      if (hooks.signal?.aborted) {
        outcome.status = 'stopped';
        outcome.reason = 'stopped by request';
        break;
      }
      const stepStarted = performance.now();
      const lr = learningRateAt(outcome.steps, schedule);
      const chosen = Array.from({ length: config.batchSize }, () => splits.train[dataRng.int(splits.train.length)]!);
      const images = new Float32Array(config.batchSize * channels * plane);
      for (const [b, entry] of chosen.entries()) {
        const sample = images.subarray(b * channels * plane, (b + 1) * channels * plane);
        augment(await load(entry), imgSize, dataRng, augmentation, sample);
        if (transform) continue;
        for (let c = 0; c < channels; c++)
          for (let k = c * plane; k < (c + 1) * plane; k++)
            sample[k] = (sample[k]! - plan.data.mean[c]!) / plan.data.std[c]!;
      }
      const imgs = tf.tensor4d(images, [config.batchSize, channels, imgSize, imgSize]);
      const labels = chosen.map((entry) => entry.label);
      const { value, grads } = tf.variableGrads(
        () =>
          labelSmoothedLoss(
            classifierLogits(model, head, imgs, { pooling: config.pooling, dropPath: config.dropPath, rng: dropRng }),
            labels,
            config.labelSmoothing,
          ),
        variables,
      );
      imgs.dispose();
      const loss = (await value.data())[0]!;
      value.dispose();
      const byName = new Map(names.map((name, i) => [name, grads[variables[i]!.name]!]));
      if (!Number.isFinite(loss)) {
        tf.dispose([...byName.values()]);
        outcome.status = 'failed';
        outcome.reason = `loss is ${loss} at step ${outcome.steps + 1}; lower blr`;
        return outcome;
      }
      for (const group of groupOptimizers)
        group.optimizer.step(
          new Map([...group.params.keys()].map((name) => [name, byName.get(name)!])),
          lr * group.scale,
        );
      tf.dispose([...byName.values()]);
      outcome.steps += 1;
      outcome.lastLoss = loss;
      hooks.onStep(outcome.steps, loss, lr, performance.now() - stepStarted);
      if (outcome.steps % evaluateEvery === 0 || outcome.steps === config.steps) await score();
    }
    if (outcome.scores === null || outcome.status === 'stopped') await score();
    return outcome;
  } finally {
    for (const group of groupOptimizers) group.optimizer.dispose();
  }
}
