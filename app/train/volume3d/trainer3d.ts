/**
 * One 3-D MAE being trained: its model, AdamW state, step and the two RNG streams (crops, masks),
 * one optimizer step at a time, written to and restored from a checkpoint so a resumed run takes
 * exactly the steps an uninterrupted one would. The step is `volume3d-pretrain.ts`'s (random
 * crops, per-sample random masking, the 2-D recipe's AdamW and schedule), with the 2-D trainer's
 * guards: a non-finite loss or gradient norm is refused before it touches the weights, and no
 * checkpoint is written from weights that hold NaN.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RNG_STREAMS, Rng, type RngState } from '../../mae/rng';
import type { MaskSet } from '../../mae/masking';
import { createMae3d, disposeMae3d, forwardMae3d, type Mae3dModel } from '../../mae/volume3d/mae3d';
import { makeMasks3d } from '../../mae/volume3d/masks3d';
import { readSafetensors, writeSafetensors } from '../../mae/weights/safetensors';
import { AdamW } from '../adamw';
import { learningRateAt, type LrSchedule } from '../schedule';
import type { StepMetrics } from '../step-metrics';
import { checkpointTensors, restoreTensors, type CheckpointGroup } from '../trainer-checkpoint';
import { NonFiniteLossError } from '../trainer-errors';
import { maskStrategy3d, type Pretrain3dPlan } from './plan3d';

/** Crops for a step: values [B, C, D, H, W] flattened, drawn with `rng`. */
export interface CropSource {
  next(rng: Rng, batchSize: number): Promise<{ values: Float32Array; shape: [number, number, number, number, number] }>;
}

/** A fixed batch (validation, the reconstruction's crop): crops and masks drawn once. */
export interface FixedBatch3d {
  volumes: tf.Tensor;
  masks: MaskSet;
}

const CHECKPOINT_FORMAT = 'mae-studio-checkpoint-3d';

/** The `studio` metadata entry of a 3-D checkpoint. */
interface Checkpoint3dMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  step: number;
  optimizerStep: number;
  lastLoss: number | null;
  rng: { data: RngState; mask: RngState };
}

/** Trains one 3-D MAE; owns its model and optimizer tensors until `dispose`. */
export class Trainer3d {
  /** Optimizer steps completed. */
  step = 0;
  lastLoss: number | null = null;

  private constructor(
    readonly plan: Pretrain3dPlan,
    readonly model: Mae3dModel,
    readonly optimizer: AdamW,
    private dataRng: Rng,
    private maskRng: Rng,
  ) {}

  /** A fresh run: seeded init, seeded crop and mask streams. */
  static create(plan: Pretrain3dPlan): Trainer3d {
    const { recipe } = plan;
    const model = createMae3d(plan.volume3d.model, recipe.seed);
    const optimizer = new AdamW(model.params, {
      beta1: recipe.beta1,
      beta2: recipe.beta2,
      epsilon: recipe.epsilon,
      weightDecay: recipe.weightDecay,
    });
    return new Trainer3d(
      plan,
      model,
      optimizer,
      Rng.fromSeed(recipe.seed, RNG_STREAMS.data),
      Rng.fromSeed(recipe.seed, RNG_STREAMS.mask),
    );
  }

  /** Continues a run from a checkpoint written by `saveCheckpoint`. */
  static async resume(file: string, plan: Pretrain3dPlan): Promise<Trainer3d> {
    const { tensors, metadata } = await readSafetensors(file);
    const meta = JSON.parse(metadata.studio ?? '{}') as Checkpoint3dMeta;
    if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`${file} is not a MAE Studio 3-D checkpoint`);
    const trainer = Trainer3d.create(plan);
    restoreTensors(trainer.checkpointGroups, tensors, file);
    trainer.optimizer.stepCount = meta.optimizerStep;
    trainer.step = meta.step;
    trainer.lastLoss = meta.lastLoss;
    trainer.dataRng = Rng.fromState(meta.rng.data);
    trainer.maskRng = Rng.fromState(meta.rng.mask);
    return trainer;
  }

  /** What a checkpoint holds: weights and AdamW moments. */
  private get checkpointGroups(): CheckpointGroup[] {
    return [
      [this.model.params, 'model.'],
      [this.optimizer.firstMoments, 'optimizer.m.'],
      [this.optimizer.secondMoments, 'optimizer.v.'],
    ];
  }

  /** The schedule this run follows: linear warm-up, half-cycle cosine. */
  get schedule(): LrSchedule {
    const { peakLr, minLr, warmupSteps, totalSteps } = this.plan.recipe;
    return { peakLr, minLr, warmupSteps, totalSteps };
  }

  /** One optimizer step on fresh crops of `source`. Throws `NonFiniteLossError` (weights unchanged). */
  async trainStep(source: CropSource): Promise<StepMetrics> {
    const started = performance.now();
    const { batchSize, maskRatio } = this.plan.recipe;
    const lr = learningRateAt(this.step, this.schedule);
    const batch = await source.next(this.dataRng, batchSize);
    const masks = makeMasks3d(maskStrategy3d(this.plan), this.model.config, batchSize, maskRatio, this.maskRng);
    const variables = [...this.model.params.values()];
    const input = tf.tensor(batch.values, batch.shape);
    const { value, grads } = tf.variableGrads(() => {
      const { loss, pred } = forwardMae3d(this.model, input, masks);
      pred.dispose();
      return loss;
    }, variables);
    input.dispose();
    const ordered = variables.map((variable) => grads[variable.name]!);
    try {
      const loss = (await value.data())[0]!;
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(this.step + 1, `the loss is ${loss}`, lr);
      // A finite loss can still have gradients whose square overflows AdamW's second moment.
      const squaredNorm = tf.tidy(() => tf.addN(ordered.map((gradient) => tf.sum(tf.square(gradient)))));
      const norm = (await squaredNorm.data())[0]!;
      squaredNorm.dispose();
      if (!Number.isFinite(norm)) throw new NonFiniteLossError(this.step + 1, 'the gradient norm overflows', lr);
      this.optimizer.step(new Map([...this.model.params.keys()].map((name, i) => [name, ordered[i]!])), lr);
      this.step += 1;
      this.lastLoss = loss;
      const msPerStep = performance.now() - started;
      return { step: this.step, loss, lr, msPerStep, imagesPerSecond: (batchSize * 1000) / msPerStep };
    } finally {
      tf.dispose([value, ...ordered]);
    }
  }

  /** Mean masked-patch loss over fixed batches, weighted by their sizes. */
  async validationLoss(batches: readonly FixedBatch3d[]): Promise<number> {
    let total = 0;
    let count = 0;
    for (const batch of batches) {
      const loss = tf.tidy(() => forwardMae3d(this.model, batch.volumes, batch.masks).loss);
      total += (await loss.data())[0]! * batch.masks.batchSize;
      loss.dispose();
      count += batch.masks.batchSize;
    }
    return total / count;
  }

  /** Writes weights, moments, step and RNG states atomically; refuses a state holding NaN. */
  async saveCheckpoint(file: string): Promise<void> {
    const tensors = await checkpointTensors(
      this.checkpointGroups,
      this.step,
      learningRateAt(Math.max(0, this.step - 1), this.schedule),
    );
    const meta: Checkpoint3dMeta = {
      format: CHECKPOINT_FORMAT,
      version: 1,
      step: this.step,
      optimizerStep: this.optimizer.stepCount,
      lastLoss: this.lastLoss,
      rng: { data: this.dataRng.state(), mask: this.maskRng.state() },
    };
    await writeSafetensors(file, tensors, { studio: JSON.stringify(meta) });
  }

  /** Frees the model and optimizer tensors. */
  dispose(): void {
    disposeMae3d(this.model);
    this.optimizer.dispose();
  }
}

/** Loads the model weights of a 3-D checkpoint into a fresh model of `plan` (for probes and exports). */
export async function loadMae3dCheckpoint(file: string, plan: Pretrain3dPlan): Promise<Mae3dModel> {
  const { tensors } = await readSafetensors(file);
  const model = createMae3d(plan.volume3d.model, plan.recipe.seed);
  for (const [name, variable] of model.params) {
    const saved = tensors.get(`model.${name}`);
    if (!saved) {
      disposeMae3d(model);
      throw new Error(`checkpoint ${file} lacks model.${name}`);
    }
    tf.tidy(() => variable.assign(tf.tensor(saved.data, variable.shape)));
  }
  return model;
}
