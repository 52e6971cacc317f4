/**
 * The pretraining loop (`engine_pretrain.py` of the reference): per optimizer step, set the
 * scheduled lr, run `accumSteps` forward/backward passes on freshly masked batches, average
 * their gradients, take one AdamW step. Data arrives through `BatchSource`, metrics leave
 * through a callback, and everything random flows from two serialisable RNG streams, so a
 * checkpointed run resumes with the same losses as an uninterrupted one. What a step reports is
 * `step-metrics.ts`, what it throws `trainer-errors.ts`, what a checkpoint holds `trainer-checkpoint.ts`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { masksForModel } from '../mae/model-masks';
import { createMae, disposeModel, forwardMae, type MaeModel } from '../mae/model';
import { RNG_STREAMS, Rng } from '../mae/rng';
import { gradientsRegistered } from '../runtime/gradients';
import { webGpuAdapter } from '../runtime/webgpu';
import { closeGpuErrorScope, openGpuErrorScope } from '../runtime/webgpu-memory';
import { largestBatchForAdapter } from './webgpu-batch-limit';
import type { Batch, BatchSource } from '../data/batch';
import { AdamW } from './adamw';
import { writeSafetensors } from '../mae/weights/safetensors';
import { recipePeakLr, storedTrainConfig, validateTrainConfig, type TrainConfig } from './config';
import { learningRateAt, type LrSchedule } from './schedule';
import { disposeRecipeTensors, recipeBatch, recipeTensors } from './recipes/domain-recipes';
import { HardPatchTeacher, teacherDecayAt } from './recipes/hpm';
import { keepCount } from '../mae/masking';
import {
  CHECKPOINT_FORMAT,
  checkpointTensors,
  readCheckpoint,
  restoreTensors,
  type CheckpointGroup,
  type CheckpointMeta,
} from './trainer-checkpoint';
import { GpuMemoryError, LateNonFiniteLossError, NonFiniteLossError } from './trainer-errors';
import { DEFAULT_LOSS_READS, type LossReads, type StepMetrics } from './step-metrics';

/** A step whose loss is still on the GPU. */
interface PendingStep {
  step: number;
  lr: number;
  /** Each micro-batch's loss divided by accumSteps, as the gradient saw it. */
  losses: tf.Tensor[];
}

/** Trains one MAE; owns its model and optimizer tensors until `dispose`. */
export class MaeTrainer {
  /** Optimizer steps completed. */
  step = 0;
  lastLoss: number | null = null;
  /** When `advance` reads the losses back on webgpu. */
  lossReads: LossReads = { ...DEFAULT_LOSS_READS };
  /** Steps whose losses were not read yet (webgpu), oldest first. */
  private pending: PendingStep[] = [];
  /** When the first pending step started (for msPerStep of an interval). */
  private intervalStart = 0;

  private constructor(
    readonly config: TrainConfig,
    readonly model: MaeModel,
    readonly optimizer: AdamW,
    private readonly source: BatchSource,
    private dataRng: Rng,
    private maskRng: Rng,
  ) {
    if (config.domainRecipe?.name === 'hpm') this.teacher = HardPatchTeacher.of(model);
  }

  /** HPM: the EMA teacher whose loss predictor picks the hard patches to mask (recipes/hpm.ts). */
  readonly teacher: HardPatchTeacher | null = null;

  /** A fresh run: seeded init, seeded data and mask streams. */
  static create(input: Partial<TrainConfig>, source: BatchSource): MaeTrainer {
    const config = validateTrainConfig(input);
    if (!gradientsRegistered())
      throw new Error(
        'TF.js gradients are not registered: call selectBackend() (or ensureGradients()) before training',
      );
    const model = createMae(config.model, config.seed);
    const optimizer = new AdamW(model.params, config);
    return new MaeTrainer(
      config,
      model,
      optimizer,
      source,
      Rng.fromSeed(config.seed, RNG_STREAMS.data),
      Rng.fromSeed(config.seed, RNG_STREAMS.mask),
    );
  }

  /** Continues a run from a checkpoint written by `saveCheckpoint`. */
  static async resume(path: string, source: BatchSource): Promise<MaeTrainer> {
    const { tensors, meta } = await readCheckpoint(path);
    const trainer = MaeTrainer.create(storedTrainConfig(meta.config), source);
    restoreTensors(trainer.checkpointGroups, tensors, path);
    trainer.optimizer.stepCount = meta.optimizerStep;
    trainer.step = meta.step;
    trainer.lastLoss = meta.lastLoss;
    trainer.dataRng = Rng.fromState(meta.rng.data);
    trainer.maskRng = Rng.fromState(meta.rng.mask);
    return trainer;
  }

  /** What a checkpoint holds: weights, AdamW moments and (HPM) the teacher. */
  private get checkpointGroups(): CheckpointGroup[] {
    return [
      [this.model.params, 'model.'],
      [this.optimizer.firstMoments, 'optimizer.m.'],
      [this.optimizer.secondMoments, 'optimizer.v.'],
      ...(this.teacher ? [[this.teacher.model.params, 'teacher.'] as const] : []),
    ];
  }

  /** The schedule this run follows. */
  get schedule(): LrSchedule {
    const { minLr, warmupSteps, totalSteps } = this.config;
    return { peakLr: recipePeakLr(this.config), minLr, warmupSteps, totalSteps };
  }

  /**
   * Whether this trainer keeps its losses on the GPU between logging intervals: on webgpu, where a
   * read waits for the whole queue; elsewhere a read is a copy of four bytes.
   */
  get defersLossReads(): boolean {
    return tf.getBackend() === 'webgpu';
  }

  /** One optimizer step over `accumSteps` micro-batches, its loss read now. Throws `NonFiniteLossError`. */
  async trainStep(): Promise<StepMetrics> {
    if (this.pending.length > 0)
      throw new Error(
        `steps ${this.pending[0]!.step}–${this.pending.at(-1)!.step} ` +
          `have unread losses: call flushLosses() before trainStep()`,
      );
    return (await this.runStep(false))!;
  }

  /**
   * One optimizer step; the metrics that became known with it. Other backends: this step's (its
   * loss read, as `trainStep`). webgpu: none while the logging interval (`lossReads`) runs, then
   * every step of it at once, read back in one read. Guarantee: a non-finite loss is found at the
   * end of its interval at the latest (`LateNonFiniteLossError`), and no checkpoint is written
   * while a loss is unread, so none holds weights updated from a non-finite loss.
   */
  async advance(): Promise<StepMetrics[]> {
    if (!this.defersLossReads) return [await this.trainStep()];
    await this.runStep(true);
    const due =
      this.pending.length >= this.lossReads.everySteps ||
      performance.now() - this.intervalStart >= this.lossReads.everyMs ||
      this.step >= this.config.totalSteps;
    return due ? this.flushLosses() : [];
  }

  /**
   * Reads the losses of the pending steps (one read) and returns their metrics, oldest first;
   * msPerStep is the interval's mean (the GPU ran them asynchronously). Throws
   * `LateNonFiniteLossError` at the first one that is NaN or infinite.
   */
  async flushLosses(): Promise<StepMetrics[]> {
    if (this.pending.length === 0) return [];
    const pending = this.pending;
    this.pending = [];
    const { batchSize, accumSteps } = this.config;
    let values: Float32Array;
    try {
      const all = tf.tidy(() => tf.concat(pending.flatMap((step) => step.losses.map((loss) => tf.reshape(loss, [1])))));
      values = (await all.data()) as Float32Array;
      all.dispose();
    } finally {
      tf.dispose(pending.flatMap((step) => step.losses));
    }
    const msPerStep = (performance.now() - this.intervalStart) / pending.length;
    const metrics: StepMetrics[] = [];
    let index = 0;
    const found =
      ` (found when the losses up to step ${pending.at(-1)!.step} ` +
      `were read; no checkpoint is written from the weights after it)`;
    for (const { step, lr } of pending) {
      let lossSum = 0;
      for (let micro = 0; micro < accumSteps; micro++) {
        const loss = values[index++]! * accumSteps;
        if (!Number.isFinite(loss)) throw new LateNonFiniteLossError(step, `the loss is ${loss}${found}`, lr, metrics);
        lossSum += loss;
      }
      this.lastLoss = lossSum / accumSteps;
      metrics.push({
        step,
        loss: this.lastLoss,
        lr,
        msPerStep,
        imagesPerSecond: (batchSize * accumSteps * 1000) / msPerStep,
      });
    }
    return metrics;
  }

  /** One optimizer step; `defer`: its losses stay on the GPU in `pending` (returns null). */
  private async runStep(defer: boolean): Promise<StepMetrics | null> {
    const started = performance.now();
    const { batchSize, accumSteps, maskStrategy, maskRatio } = this.config;
    const lr = learningRateAt(this.step, this.schedule);
    const names = [...this.model.params.keys()];
    const variables = [...this.model.params.values()];
    let accumulated: tf.Tensor[] | null = null;
    let lossSum = 0;
    const deferred: tf.Tensor[] = [];
    let gpuScope = openGpuErrorScope(); // webgpu only: Dawn reports a failed allocation instead of throwing
    try {
      for (let micro = 0; micro < accumSteps; micro++) {
        const batch = await this.source.next(this.dataRng, batchSize);
        this.checkBatch(batch);
        // The domain recipe's input and targets (the plain MAE: the batch itself), made on the host.
        const shape = {
          batchSize: batch.batchSize,
          channels: batch.channels,
          height: batch.height,
          width: batch.width,
        };
        const { patchSize } = this.config.model;
        const { input: imgs, targets } = recipeTensors(
          recipeBatch(this.config.domainRecipe, batch.images, shape, patchSize),
          shape,
          patchSize,
        );
        const recipe = this.config.domainRecipe;
        const masks =
          this.teacher && recipe?.name === 'hpm'
            ? await this.teacher.masks(
                imgs,
                {
                  numKeep: keepCount((shape.height * shape.width) / patchSize / patchSize, maskRatio),
                  step: this.step,
                  totalSteps: this.config.totalSteps,
                  finalHardShare: recipe.finalHardShare,
                },
                this.maskRng,
              )
            : masksForModel(this.config.model, maskStrategy, { batchSize, maskRatio }, this.maskRng);
        if (batch.timestamps) targets.timestamps = batch.timestamps; // SatMAE temporal: each frame's date
        // The loss is divided by accumSteps so the summed gradients are the mean (as the reference).
        const { value, grads } = tf.variableGrads(
          () => tf.div(forwardMae(this.model, imgs, masks, targets).loss, accumSteps) as tf.Scalar,
          variables,
        );
        imgs.dispose();
        disposeRecipeTensors(targets);
        const ordered = variables.map((variable) => grads[variable.name]!);
        if (defer)
          deferred.push(value); // stays on the GPU until the logging interval ends
        else {
          const loss = (await value.data())[0]! * accumSteps;
          value.dispose();
          if (!Number.isFinite(loss)) {
            tf.dispose(ordered);
            throw new NonFiniteLossError(this.step + 1, `the loss is ${loss}`, lr);
          }
          lossSum += loss;
        }
        if (accumulated === null) accumulated = ordered;
        else {
          const previous: tf.Tensor[] = accumulated;
          accumulated = tf.tidy(() => previous.map((sum, i) => tf.add(sum, ordered[i]!)));
          tf.dispose([...previous, ...ordered]);
        }
      }
      if (gpuScope) {
        gpuScope = false;
        const gpuError = await closeGpuErrorScope();
        if (gpuError) throw new GpuMemoryError(this.gpuMemoryAdvice(gpuError));
      }
      // A finite loss can still have gradients that are not finite, or whose square overflows
      // AdamW's second moment; one step with them would poison the state, so it is refused before.
      // Deferred (webgpu) steps skip this check: it would cost a read (or ~100 dispatches: one
      // addN over every gradient exceeds a compatibility adapter's bindings). A non-finite
      // gradient there shows as a non-finite loss at the interval's read, and an overflowing
      // second moment as a non-finite optimizer state, which `saveCheckpoint` refuses to write.
      if (!defer) {
        const squaredNorm = tf.tidy(() => tf.addN(accumulated!.map((gradient) => tf.sum(tf.square(gradient)))));
        const norm = (await squaredNorm.data())[0]!;
        squaredNorm.dispose();
        if (!Number.isFinite(norm)) throw new NonFiniteLossError(this.step + 1, 'the gradient norm overflows', lr);
      }
      this.optimizer.step(new Map(names.map((name, i) => [name, accumulated![i]!])), lr);
      this.teacher?.update(this.model, teacherDecayAt(this.step, this.config.totalSteps));
    } catch (error) {
      tf.dispose(deferred);
      throw error;
    } finally {
      if (accumulated) tf.dispose(accumulated);
      if (gpuScope) await closeGpuErrorScope();
    }
    this.step += 1;
    if (defer) {
      if (this.pending.length === 0) this.intervalStart = started;
      this.pending.push({ step: this.step, lr, losses: deferred });
      return null;
    }
    this.lastLoss = lossSum / accumSteps;
    const msPerStep = performance.now() - started;
    return {
      step: this.step,
      loss: this.lastLoss,
      lr,
      msPerStep,
      imagesPerSecond: (batchSize * accumSteps * 1000) / msPerStep,
    };
  }

  /** Writes weights, moments, step, schedule and RNG states atomically (see app/mae/weights/safetensors.ts). */
  async saveCheckpoint(path: string): Promise<void> {
    if (this.pending.length > 0) {
      // the guarantee `advance` gives: no checkpoint past an unread loss
      throw new Error(
        `steps ${this.pending[0]!.step}–${this.pending.at(-1)!.step} ` +
          `have unread losses: call flushLosses() before saveCheckpoint()`,
      );
    }
    const tensors = await checkpointTensors(
      this.checkpointGroups,
      this.step,
      learningRateAt(Math.max(0, this.step - 1), this.schedule),
    );
    const meta: CheckpointMeta = {
      format: CHECKPOINT_FORMAT,
      version: 1,
      config: this.config,
      step: this.step,
      optimizerStep: this.optimizer.stepCount,
      lastLoss: this.lastLoss,
      schedule: { ...this.schedule, nextLr: learningRateAt(this.step, this.schedule) },
      rng: { data: this.dataRng.state(), mask: this.maskRng.state() },
    };
    await writeSafetensors(path, tensors, { studio: JSON.stringify(meta) });
  }

  /** Frees the model and optimizer tensors (and losses not read). */
  dispose(): void {
    tf.dispose(this.pending.flatMap((step) => step.losses));
    this.pending = [];
    disposeModel(this.model);
    this.teacher?.dispose();
    this.optimizer.dispose();
  }

  /** What went wrong on the GPU and which batch fits this adapter's buffers. */
  private gpuMemoryAdvice(gpuError: string): string {
    const { batchSize, accumSteps, maskRatio, model } = this.config;
    const adapter = webGpuAdapter();
    const limit = adapter ? largestBatchForAdapter(model, maskRatio, adapter) : 0;
    // Past the per-buffer limit, the limit says which batch fits; else total memory ran out: halve.
    const fits = Math.max(1, limit > 0 && limit < batchSize ? limit : Math.floor(batchSize / 2));
    return (
      `${gpuError} at step ${this.step + 1} with batch ${batchSize}; batch ${fits} fits this GPU` +
      ` (set accumSteps ${Math.ceil((batchSize * accumSteps) / fits)} to keep the effective batch)`
    );
  }

  private checkBatch(batch: Batch): void {
    const { imgSize, temporal } = this.config.model;
    // SatMAE temporal: the T frames of a sample arrive stacked as channels.
    const inChans = this.config.model.inChans * (temporal?.frames ?? 1);
    if (
      batch.batchSize !== this.config.batchSize ||
      batch.channels !== inChans ||
      batch.height !== imgSize ||
      batch.width !== imgSize
    ) {
      throw new Error(
        `batch source gave [${batch.batchSize}, ${batch.channels}, ${batch.height}, ${batch.width}], ` +
          `the model needs [${this.config.batchSize}, ${inChans}, ${imgSize}, ${imgSize}]`,
      );
    }
    if (batch.images.length !== batch.batchSize * batch.channels * batch.height * batch.width) {
      throw new Error(
        `batch holds ${batch.images.length} values, its shape ` +
          `needs ${batch.batchSize * batch.channels * batch.height * batch.width}`,
      );
    }
  }
}
